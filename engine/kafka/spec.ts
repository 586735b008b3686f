// The CRD's `kafkaCluster` block (the existing operator's fields, research/operator-anchor §1.1)
// and its resolution into a KafkaClusterConfig: Secrets are read through the same SecretReader
// the storage block uses, so the controller and the CLI (mounted-Secret folders) share one path.
import type { SecretKeyRef, SecretReader } from "../storage/config.ts";
import { type KafkaClusterConfig, normalizeMechanism, normalizeProtocol } from "./config.ts";
import { KafkaConfigError } from "./errors.ts";

export interface KafkaClusterSpec {
  bootstrapServers: string[];
  securityProtocol?: string;
  tlsSecret?: { name: string; caKey?: string; certKey?: string; keyKey?: string };
  /** A separate CA Secret (Strimzi's cluster CA); it overrides tlsSecret.caKey. */
  caSecret?: { name: string; caKey?: string };
  saslSecret?: { name: string; mechanism: string; usernameKey?: string; passwordKey?: string };
  connection?: {
    tcpKeepalive?: boolean;
    keepaliveTimeSecs?: number;
    keepaliveIntervalSecs?: number;
    tcpNodelay?: boolean;
    connectionsPerBroker?: number;
  };
}

export async function resolveKafkaCluster(
  spec: KafkaClusterSpec,
  read: SecretReader,
  clientId?: string,
): Promise<KafkaClusterConfig> {
  const protocol = normalizeProtocol(spec.securityProtocol);
  const tlsNeeded = protocol === "SSL" || protocol === "SASL_SSL";
  const ref = (field: string, secretName: string, key: string): SecretKeyRef => ({
    field: `kafkaCluster.${field}`,
    secretName,
    key,
  });
  const config: KafkaClusterConfig = {
    bootstrapServers: spec.bootstrapServers,
    securityProtocol: protocol,
    ...(clientId ? { clientId } : {}),
  };
  if (tlsNeeded) {
    const tls: NonNullable<KafkaClusterConfig["tls"]> = {};
    if (spec.caSecret) tls.ca = await read(ref("caSecret.caKey", spec.caSecret.name, spec.caSecret.caKey ?? "ca.crt"));
    else if (spec.tlsSecret) tls.ca = await read(ref("tlsSecret.caKey", spec.tlsSecret.name, spec.tlsSecret.caKey ?? "ca.crt"));
    const t = spec.tlsSecret;
    if (t?.certKey || t?.keyKey) {
      if (!t.certKey || !t.keyKey)
        throw new KafkaConfigError("kafkaCluster.tlsSecret: certKey and keyKey go together (a client certificate needs its key)");
      tls.cert = await read(ref("tlsSecret.certKey", t.name, t.certKey));
      tls.key = await read(ref("tlsSecret.keyKey", t.name, t.keyKey));
    }
    config.tls = tls;
  }
  if (protocol === "SASL_PLAINTEXT" || protocol === "SASL_SSL") {
    const s = spec.saslSecret;
    if (!s) throw new KafkaConfigError(`kafkaCluster.saslSecret: securityProtocol ${protocol} needs a saslSecret`);
    const mechanism = normalizeMechanism(s.mechanism);
    const [username, password] = await Promise.all([
      read(ref("saslSecret.usernameKey", s.name, s.usernameKey ?? "username")),
      read(ref("saslSecret.passwordKey", s.name, s.passwordKey ?? "password")),
    ]);
    config.sasl = { mechanism, username: username.trim(), password: password.replace(/\r?\n$/, "") };
  }
  return config;
}
