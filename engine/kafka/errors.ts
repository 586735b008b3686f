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
