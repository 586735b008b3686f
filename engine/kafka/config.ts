// How to reach a Kafka cluster: the CRD's `kafkaCluster` block with its Secrets already resolved
// to values (the controller runtime does that; the CLI reads files). Turned into kafkajs options
// here and nowhere else.
import type { KafkaConfig, SASLOptions } from "kafkajs";
import { KafkaConfigError } from "./errors.ts";
import { kafkaSocketFactory } from "./socket.ts";

export const securityProtocols = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] as const;
export type SecurityProtocol = (typeof securityProtocols)[number];
export const saslMechanisms = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] as const;
export type SaslMechanism = (typeof saslMechanisms)[number];

export interface KafkaTls {
  /** PEM CA bundle; without it the system's public CAs are trusted. */
  ca?: string;
  /** PEM client certificate and key, for mutual TLS. */
  cert?: string;
  key?: string;
}

export interface KafkaSasl {
  mechanism: SaslMechanism;
  username?: string;
  password?: string;
  /** For OAUTHBEARER: returns a fresh token (e.g. from a token file or an identity provider). */
  oauthBearerProvider?: () => Promise<{ value: string }>;
}

export interface KafkaClusterConfig {
  bootstrapServers: string[];
  securityProtocol?: SecurityProtocol | string;
  tls?: KafkaTls;
  sasl?: KafkaSasl;
  clientId?: string;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/** Accepts the spellings users write: SCRAM-SHA-512, scram-sha-512, SCRAM-SHA512 (the Rust tool's YAML), SCRAM_SHA_512. */
export function normalizeMechanism(value: string): SaslMechanism {
  const compact = value.toUpperCase().replace(/[-_]/g, "");
  const match = saslMechanisms.find((m) => m.replace(/-/g, "") === compact);
  if (!match)
    throw new KafkaConfigError(
      `kafkaCluster.saslSecret.mechanism: unknown SASL mechanism "${value}"; use one of ${saslMechanisms.join(", ")}`,
    );
  return match;
}

export function normalizeProtocol(value: string | undefined): SecurityProtocol {
  const upper = (value ?? "PLAINTEXT").toUpperCase();
  const match = securityProtocols.find((p) => p === upper);
  // The Rust operator silently fell back to PLAINTEXT here; a typo must not disable TLS.
  if (!match)
    throw new KafkaConfigError(
      `kafkaCluster.securityProtocol: unknown protocol "${value}"; use one of ${securityProtocols.join(", ")}`,
    );
  return match;
}

const hostPort = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

export function kafkajsOptions(config: KafkaClusterConfig): KafkaConfig {
  if (!config.bootstrapServers.length)
    throw new KafkaConfigError("kafkaCluster.bootstrapServers: at least one bootstrap server is required");
  for (const [i, server] of config.bootstrapServers.entries()) {
    const m = hostPort.exec(server);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new KafkaConfigError(`kafkaCluster.bootstrapServers[${i}]: "${server}" is not host:port`);
    }
  }
  const protocol = normalizeProtocol(config.securityProtocol);
  const useTls = protocol === "SSL" || protocol === "SASL_SSL";
  const useSasl = protocol === "SASL_PLAINTEXT" || protocol === "SASL_SSL";
  if (useSasl && !config.sasl)
    throw new KafkaConfigError(`kafkaCluster.saslSecret: securityProtocol ${protocol} needs SASL credentials`);
  if (!useTls && (config.tls?.cert || config.tls?.ca)) {
    throw new KafkaConfigError(
      `kafkaCluster.securityProtocol: ${protocol} does not use TLS, but TLS material is configured; use SSL or SASL_SSL`,
    );
  }
  if (Boolean(config.tls?.cert) !== Boolean(config.tls?.key)) {
    throw new KafkaConfigError(
      "kafkaCluster.tlsSecret: a client certificate needs its key and a key its certificate (certKey and keyKey)",
    );
  }
  const options: KafkaConfig = {
    brokers: config.bootstrapServers,
    clientId: config.clientId ?? "kafka-backup-operator",
    connectionTimeout: config.connectionTimeoutMs ?? 10_000,
    requestTimeout: config.requestTimeoutMs ?? 60_000,
    authenticationTimeout: 10_000,
    // TLS at a port that speaks something else fails at once, saying so (socket.ts).
    socketFactory: kafkaSocketFactory(),
  };
  if (useTls) {
    options.ssl = {
      ...(config.tls?.ca ? { ca: [config.tls.ca] } : {}),
      ...(config.tls?.cert ? { cert: config.tls.cert, key: config.tls.key } : {}),
    };
  }
  if (useSasl && config.sasl) options.sasl = saslOptions(config.sasl);
  return options;
}

function saslOptions(sasl: KafkaSasl): SASLOptions {
  const mechanism = normalizeMechanism(sasl.mechanism);
  if (mechanism === "OAUTHBEARER") {
    if (!sasl.oauthBearerProvider) throw new KafkaConfigError("kafkaCluster.saslSecret: OAUTHBEARER needs a token source");
    return { mechanism: "oauthbearer", oauthBearerProvider: sasl.oauthBearerProvider };
  }
  if (!sasl.username || sasl.password === undefined) {
    throw new KafkaConfigError(`kafkaCluster.saslSecret: ${mechanism} needs a username and a password`);
  }
  const lower = mechanism.toLowerCase() as "plain" | "scram-sha-256" | "scram-sha-512";
  return { mechanism: lower, username: sasl.username, password: sasl.password } as SASLOptions;
}
