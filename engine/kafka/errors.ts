// Kafka-side errors with a `reason` that becomes a condition reason, and messages naming what
// the user has to fix.

export class KafkaDecodeError extends Error {
  readonly reason = "KafkaDecodeError";
  override name = "KafkaDecodeError";
}

export class KafkaConfigError extends Error {
  readonly reason = "InvalidKafkaConfig";
  override name = "KafkaConfigError";
}

export class TopicNotFoundError extends Error {
  readonly reason = "TopicNotFound";
  override name = "TopicNotFoundError";
}

/**
 * The condition reason for a failure talking to Kafka, from the client's error (by name: only
 * engine/kafka/ knows the client): refused credentials or certificates, or brokers out of reach.
 */
export function kafkaFailureReason(err: unknown): string | undefined {
  const name = (err as { name?: string })?.name ?? "";
  const message = (err as { message?: string })?.message ?? "";
  if (/protocol mismatch/i.test(message)) return "ProtocolMismatch";
  if (name === "KafkaJSSASLAuthenticationError" || /authentication failed|SASL/i.test(message)) return "AuthenticationFailed";
  if (/certificate|self[- ]signed|handshake|SSL routines|TLS/i.test(message)) return "TLSFailed";
  if (
    name === "KafkaJSConnectionError" ||
    name === "KafkaJSNumberOfRetriesExceeded" ||
    /ECONNREFUSED|ENOTFOUND|ETIMEDOUT/.test(message)
  )
    return "KafkaUnreachable";
  return undefined;
}
