// Where the stack keeps things and which versions it runs. One place for both, so a version bump
// is a one-line change and the cache folder never mixes builds of two versions.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const versions = {
  // Kafka 4.1 is the current 4.x line we test against; 3.9.x (the last with ZooKeeper, still the
  // most deployed) runs with `--kafka-version 3.9.1`.
  kafka: "4.1.2",
  kubernetes: "v1.34.4",
  etcd: "v3.6.16",
  // MinIO publishes no semver tags to the Go module proxy; this is its last source release there.
  minio: "v0.0.0-20260212201848-7aac2a2c5b7c",
  fakeGcs: "v1.56.1",
  pulumi: "v3.274.1",
  // The provider module has no release tags of its own; this pseudo-version (a commit after the
  // v4.24.0 SDK release) is the one the Go module proxy serves. `version` is what it reports.
  pulumiKubernetes: {
    module: "v4.0.0-20260115033456-f47bc2d6f199",
    version: "4.24.0-dev.f47bc2d6f199",
    sdk: "v4.22.2",
  },
  // Not part of the stack: the reference the 7-field schedule dialect is compared with.
  quartz: "2.5.2",
  // The local node's base image: Node.js from the npm `node` package (the project's own), npm
  // from the npm registry, on a debootstrap'd Debian.
  nodeImage: { node: "24", npm: "11.19.1", debian: "bookworm" },
} as const;

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface StackConfig {
  cacheDir: string;
  stateDir: string;
  kafkaVersion: string;
  kafkaBrokers: number;
  /** Start the local node (kubelet, containerd, ...) too: `stack up --node` or KBO_STACK_NODE=1. */
  node: boolean;
  /** Build the operator's image from the Dockerfile and load it into the node (implies `node`). */
  operatorImage: boolean;
}

export function stackConfig(overrides: Partial<StackConfig> = {}): StackConfig {
  const cacheDir =
    process.env.KBO_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "kafka-backup-operator");
  return {
    cacheDir,
    stateDir: process.env.KBO_STACK_DIR ?? join(repoRoot, ".stack"),
    kafkaVersion: process.env.KBO_KAFKA_VERSION ?? versions.kafka,
    kafkaBrokers: 1,
    node: process.env.KBO_STACK_NODE === "1",
    operatorImage: process.env.KBO_STACK_NODE === "1",
    ...overrides,
  };
}

/** Whether this stack runs the node: asked for now, or started before in this stack folder (until `down --purge`). */
export function nodeWanted(config: StackConfig): boolean {
  return config.node || existsSync(join(config.stateDir, "state", "node.json"));
}

/**
 * The local node's network: a bridge of the stack's own with the host's address on it, pods in
 * network namespaces behind it. Pods reach the host's servers (the API server, Kafka, the object
 * stores) at `host`; nothing is forwarded off the bridge.
 */
export const nodeNetwork = {
  bridge: "kbo0",
  podSubnet: "10.88.0.0/24",
  host: "10.88.0.1",
  nodeName: "kbo-node",
} as const;

export const envFile = (config: StackConfig) => join(config.stateDir, "env");
export const runDirs = (config: StackConfig) => ({ pids: join(config.stateDir, "pids"), logs: join(config.stateDir, "logs") });
/** Where the Kafka clusters of their own that fault tests start (test/support/faults.ts) keep their state. */
export const clustersDir = (config: StackConfig) => join(config.stateDir, "clusters");
