// Apache Kafka in KRaft mode: N combined broker+controller nodes run with `java -cp`, each with
// PLAINTEXT, SSL (client certificates required) and SASL_SSL (SCRAM-SHA-512) listeners.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { type Component, dataDir, type Env, loadState, saveState } from "./component.ts";
import { nodeNetwork, nodeWanted } from "./config.ts";
import { ensureCa, ensureLeaf } from "./pki.ts";
import { freePort, portOpen, run, serverPid, startServer, stopServer, waitUntil } from "./process.ts";
import { ensureKafkaJars } from "./tools.ts";

interface NodePorts {
  plaintext: number;
  ssl: number;
  saslSsl: number;
  controller: number;
  /** With the local node: a PLAINTEXT listener on loopback advertised at the node's host address. */
  pod?: number;
}

interface KafkaState {
  version: string;
  clusterId: string;
  scramUser: string;
  scramPassword: string;
  nodes: NodePorts[];
}

const serverName = (id: number) => `kafka-${id}`;

export const kafka: Component = {
  name: "kafka",
  externalWhen: ["KAFKA_BOOTSTRAP_SERVERS"],
  envPrefixes: ["KAFKA_"],

  async up(ctx) {
    const { config, log } = ctx;
    const lib = ensureKafkaJars(config, log);
    let state = loadState<KafkaState>(ctx, "kafka");
    if (state && (state.nodes.length !== config.kafkaBrokers || state.version !== config.kafkaVersion)) {
      log(`kafka: changing to ${config.kafkaBrokers} broker(s) of ${config.kafkaVersion}; the old cluster's data is dropped`);
      await this.down(ctx);
      state = undefined;
    }
    const root = dataDir(ctx, "kafka");
    if (!state) {
      rmSync(root, { recursive: true, force: true });
      mkdirSync(root, { recursive: true });
      const nodes: NodePorts[] = [];
      for (let i = 0; i < config.kafkaBrokers; i++) {
        nodes.push({
          plaintext: await freePort(),
          ssl: await freePort(),
          saslSsl: await freePort(),
          controller: await freePort(),
        });
      }
      state = {
        version: config.kafkaVersion,
        clusterId: clusterId(),
        scramUser: "kbo",
        scramPassword: randomBytes(18).toString("base64url"),
        nodes,
      };
    }
    const pki = join(root, "pki");
    const ca = ensureCa(pki, "kafka-ca");
    const broker = ensureLeaf(ca, pki, "broker", {
      commonName: "kafka-broker",
      hosts: ["127.0.0.1", "localhost"],
      usage: "both",
    });
    const client = ensureLeaf(ca, pki, "client", { commonName: "kbo-client", usage: "client" });
    // Kafka's PEM key store: the private key followed by the certificate chain.
    const brokerPem = join(pki, "broker.pem");
    writeFileSync(brokerPem, readFileSync(broker.key, "utf8") + readFileSync(broker.cert, "utf8"));
    const logConfig = writeLogConfig(root, config.kafkaVersion);

    // Pods reach this listener at the host's bridge address, which the node maps to loopback.
    const forNode = nodeWanted(config);
    for (const ports of state.nodes) if (forNode && ports.pod === undefined) ports.pod = await freePort();
    const podPort = (ports: NodePorts) => (forNode ? ports.pod : undefined);
    const voters = state.nodes.map((n, i) => `${i + 1}@127.0.0.1:${n.controller}`).join(",");
    const rf = Math.min(3, state.nodes.length);
    for (const [i, ports] of state.nodes.entries()) {
      const id = i + 1;
      const nodeDir = join(root, `node-${id}`);
      const logDir = join(nodeDir, "data");
      const props = join(nodeDir, "server.properties");
      const text = serverProperties({ id, ports, pod: podPort(ports), voters, logDir, rf, brokerPem, caCert: ca.cert });
      if (serverPid(ctx.dirs, serverName(id)) !== undefined) {
        if (readFileSync(props, "utf8") === text) continue;
        log(`kafka: restarting node ${id} ${forNode ? "with" : "without"} its listener for the local node's pods`);
        await stopServer(ctx.dirs, serverName(id), 20_000);
      }
      mkdirSync(nodeDir, { recursive: true });
      writeFileSync(props, text);
      if (!existsMeta(logDir)) {
        run("java", [
          "-cp",
          `${lib}/*`,
          "kafka.tools.StorageTool",
          "format",
          "--ignore-formatted",
          "-t",
          state.clusterId,
          "-c",
          props,
          "--add-scram",
          `SCRAM-SHA-512=[name=${state.scramUser},password=${state.scramPassword}]`,
        ]);
      }
      startServer(ctx.dirs, {
        name: serverName(id),
        command: "java",
        args: [
          `-Xms128m`,
          `-Xmx${state.nodes.length > 1 ? 512 : 1024}m`,
          "-XX:+UseG1GC",
          `-Dlog4j2.configurationFile=${logConfig}`,
          `-Dlog4j.configuration=file:${logConfig}`,
          "-cp",
          `${lib}/*`,
          "kafka.Kafka",
          props,
        ],
      });
    }
    saveState(ctx, "kafka", state);
    for (const [i, ports] of state.nodes.entries()) {
      await waitUntil(`kafka node ${i + 1}`, () => portOpen(ports.plaintext), {
        timeoutMs: 90_000,
        dirs: ctx.dirs,
        server: serverName(i + 1),
      });
    }
    const env: Env = {
      KAFKA_VERSION: state.version,
      KAFKA_BROKER_COUNT: String(state.nodes.length),
      KAFKA_BOOTSTRAP_SERVERS: state.nodes.map((n) => `127.0.0.1:${n.plaintext}`).join(","),
      KAFKA_SSL_BOOTSTRAP_SERVERS: state.nodes.map((n) => `127.0.0.1:${n.ssl}`).join(","),
      KAFKA_SASL_SSL_BOOTSTRAP_SERVERS: state.nodes.map((n) => `127.0.0.1:${n.saslSsl}`).join(","),
      ...(forNode ? { KAFKA_POD_BOOTSTRAP_SERVERS: state.nodes.map((n) => `${nodeNetwork.host}:${n.pod}`).join(",") } : {}),
      KAFKA_CA_CERT: ca.cert,
      KAFKA_CLIENT_CERT: client.cert,
      KAFKA_CLIENT_KEY: client.key,
      KAFKA_SCRAM_MECHANISM: "scram-sha-512",
      KAFKA_SCRAM_USERNAME: state.scramUser,
      KAFKA_SCRAM_PASSWORD: state.scramPassword,
      KAFKA_LIB: lib,
      KAFKA_BIN: writeToolScripts(root, lib, logConfig),
    };
    await waitUntil("kafka cluster", async () => (await this.health(ctx, env)).healthy, { timeoutMs: 90_000 });
    return env;
  },

  async health(_ctx, env) {
    const servers = (env.KAFKA_BOOTSTRAP_SERVERS ?? "").split(",").filter(Boolean);
    if (!servers.length) return { healthy: false, detail: "no bootstrap servers" };
    const client = new Kafka({
      brokers: servers,
      clientId: "kbo-stack",
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
      connectionTimeout: 2000,
    });
    const admin = client.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      const want = Number(env.KAFKA_BROKER_COUNT ?? servers.length);
      const healthy = cluster.brokers.length >= want && cluster.controller !== null;
      return {
        healthy,
        detail: `${cluster.brokers.length}/${want} brokers, cluster ${cluster.clusterId} (Kafka ${env.KAFKA_VERSION ?? "?"})`,
      };
    } catch (err) {
      return { healthy: false, detail: (err as Error).message };
    } finally {
      await admin.disconnect().catch(() => {});
    }
  },

  async down(ctx) {
    const state = loadState<KafkaState>(ctx, "kafka");
    const count = Math.max(state?.nodes.length ?? 0, 3);
    for (let id = 1; id <= count; id++) await stopServer(ctx.dirs, serverName(id), 20_000);
  },
};

function existsMeta(logDir: string): boolean {
  try {
    return readFileSync(join(logDir, "meta.properties"), "utf8").length > 0;
  } catch {
    return false;
  }
}

function serverProperties(o: {
  id: number;
  ports: NodePorts;
  pod: number | undefined;
  voters: string;
  logDir: string;
  rf: number;
  brokerPem: string;
  caCert: string;
}): string {
  const { ports, pod } = o;
  const podListener = (host: string) => (pod === undefined ? "" : `,POD://${host}:${pod}`);
  return `process.roles=broker,controller
node.id=${o.id}
controller.quorum.voters=${o.voters}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listeners=PLAINTEXT://127.0.0.1:${ports.plaintext},SSL://127.0.0.1:${ports.ssl},SASL_SSL://127.0.0.1:${ports.saslSsl},CONTROLLER://127.0.0.1:${ports.controller}${podListener("127.0.0.1")}
advertised.listeners=PLAINTEXT://127.0.0.1:${ports.plaintext},SSL://127.0.0.1:${ports.ssl},SASL_SSL://127.0.0.1:${ports.saslSsl}${podListener(nodeNetwork.host)}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT${pod === undefined ? "" : ",POD:PLAINTEXT"}
log.dirs=${o.logDir}
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=${o.rf}
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=${o.rf}
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=${o.rf}
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.segment.bytes=67108864
ssl.keystore.type=PEM
ssl.keystore.location=${o.brokerPem}
ssl.truststore.type=PEM
ssl.truststore.location=${o.caCert}
listener.name.ssl.ssl.client.auth=required
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
`;
}

/** Kafka 4 reads a log4j2 file, 3.x a log4j 1 file; both log warnings to the console. */
function writeLogConfig(root: string, version: string): string {
  const file = join(root, version.startsWith("3.") ? "log4j.properties" : "log4j2.properties");
  writeFileSync(
    file,
    version.startsWith("3.")
      ? "log4j.rootLogger=WARN, stdout\nlog4j.appender.stdout=org.apache.log4j.ConsoleAppender\nlog4j.appender.stdout.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\nlog4j.logger.kafka=INFO\n"
      : "rootLogger.level=WARN\nrootLogger.appenderRef.stdout.ref=STDOUT\nappender.stdout.type=Console\nappender.stdout.name=STDOUT\nappender.stdout.layout.type=PatternLayout\nappender.stdout.layout.pattern=[%d] %p %m (%c)%n\nlogger.kafka.name=kafka\nlogger.kafka.level=INFO\n",
  );
  return file;
}

/** Shell wrappers for Kafka's own command-line tools, runnable from the same jars. */
function writeToolScripts(root: string, lib: string, logConfig: string): string {
  const bin = join(root, "bin");
  mkdirSync(bin, { recursive: true });
  const tools: Record<string, string> = {
    "kafka-producer-perf-test": "org.apache.kafka.tools.ProducerPerformance",
    "kafka-consumer-perf-test": "org.apache.kafka.tools.ConsumerPerformance",
    "kafka-topics": "org.apache.kafka.tools.TopicCommand",
    "kafka-consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "kafka-console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "kafka-delete-records": "org.apache.kafka.tools.DeleteRecordsCommand",
  };
  for (const [name, cls] of Object.entries(tools)) {
    const file = join(bin, name);
    writeFileSync(
      file,
      `#!/bin/sh\nexec java -Xmx512m -Dlog4j2.configurationFile=${logConfig} -Dlog4j.configuration=file:${logConfig} -cp '${lib}/*' ${cls} "$@"\n`,
    );
    chmodSync(file, 0o755);
  }
  return bin;
}

/**
 * A KRaft cluster id: 16 random bytes in base64url, never starting with "-" (as Kafka's own
 * Uuid.randomUuid), which kafka-storage's argument parser would take for an option (1 in 64).
 */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}
