// The invalid manifests of the five kinds, each a valid fixture (test/fixtures/crds/valid/) with
// one thing broken, the field the API server's error must name and a part of its message.
// test/integration/crds-apiserver.test.ts applies them; test/e2e/hostile-manifests.test.ts counts
// them in its summary beside the manifests only the controllers can judge.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { repoRoot } from "../stack/config.ts";

export type Json = Record<string, unknown>;
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: Json;
}

const fixturesDir = join(repoRoot, "test/fixtures/crds/valid");
export const fixtures: Manifest[] = readdirSync(fixturesDir)
  .filter((f) => f.endsWith(".yaml"))
  .sort()
  .flatMap((f) => parseAllDocuments(readFileSync(join(fixturesDir, f), "utf8")).map((d) => d.toJS() as Manifest));
export const fixture = (name: string): Manifest => {
  const m = fixtures.find((f) => f.metadata.name === name);
  if (!m) throw new Error(`no fixture ${name}`);
  return structuredClone(m);
};

export interface Invalid {
  why: string;
  base: string;
  change: (spec: Json, manifest: Manifest) => void;
  /** The field the error must name, as the API server prints it, and a part of the message. */
  field: string;
  message: RegExp;
}

const at = (spec: Json, path: string): Json => path.split(".").reduce((o, k) => o[k] as Json, spec);

export const invalidBackups: Invalid[] = [
  {
    why: "no kafkaCluster",
    base: "s3-backup",
    change: (s) => delete s.kafkaCluster,
    field: "spec.kafkaCluster",
    message: /Required value/,
  },
  { why: "no topics", base: "s3-backup", change: (s) => (s.topics = []), field: "spec.topics", message: /at least one topic/ },
  {
    why: "no bootstrap servers",
    base: "s3-backup",
    change: (s) => (at(s, "kafkaCluster").bootstrapServers = []),
    field: "spec.kafkaCluster.bootstrapServers",
    message: /at least 1 items/,
  },
  {
    why: "bootstrap server without port",
    base: "s3-backup",
    change: (s) => (at(s, "kafkaCluster").bootstrapServers = ["kafka"]),
    field: "spec.kafkaCluster.bootstrapServers[0]",
    message: /should match/,
  },
  {
    why: "unknown security protocol",
    base: "s3-backup",
    change: (s) => (at(s, "kafkaCluster").securityProtocol = "TLS"),
    field: "spec.kafkaCluster.securityProtocol",
    message: /Unsupported value: "TLS"/,
  },
  {
    why: "SSL without any TLS Secret",
    base: "s3-backup",
    change: (s) => (at(s, "kafkaCluster").securityProtocol = "SSL"),
    field: "spec.kafkaCluster.tlsSecret",
    message: /tlsSecret or kafkaCluster.caSecret is required when securityProtocol is SSL/,
  },
  {
    why: "SASL without saslSecret",
    base: "s3-backup",
    change: (s) => (at(s, "kafkaCluster").securityProtocol = "SASL_PLAINTEXT"),
    field: "spec.kafkaCluster.saslSecret",
    message: /saslSecret is required when securityProtocol is SASL_PLAINTEXT/,
  },
  {
    why: "unknown SASL mechanism",
    base: "production-backup",
    change: (s) => (at(s, "kafkaCluster.saslSecret").mechanism = "GSSAPI"),
    field: "spec.kafkaCluster.saslSecret.mechanism",
    message: /Unsupported value: "GSSAPI"/,
  },
  {
    why: "client certificate without its key",
    base: "strimzi-tls-scheduled",
    change: (s) => delete at(s, "kafkaCluster.tlsSecret").keyKey,
    field: "spec.kafkaCluster.tlsSecret",
    message: /certKey and keyKey go together/,
  },
  {
    why: "OAUTHBEARER without a token key",
    base: "pvc-create-oauth",
    change: (s) => delete at(s, "kafkaCluster.saslSecret").tokenKey,
    field: "spec.kafkaCluster.saslSecret.tokenKey",
    message: /tokenKey is required when mechanism is OAUTHBEARER/,
  },
  {
    why: "unknown storage type",
    base: "s3-backup",
    change: (s) => (at(s, "storage").storageType = "ftp"),
    field: "spec.storage.storageType",
    message: /Unsupported value: "ftp"/,
  },
  {
    why: "storageType without its sub-block",
    base: "s3-backup",
    change: (s) => (at(s, "storage").storageType = "gcs"),
    field: "spec.storage",
    message: /storage.gcs is required when storage.storageType is gcs/,
  },
  {
    why: "two storage sub-blocks",
    base: "s3-backup",
    change: (s) => (at(s, "storage").pvc = { claimName: "extra" }),
    field: "spec.storage",
    message: /exactly one of pvc, s3, azure, gcs/,
  },
  {
    why: "claimName not a DNS name",
    base: "backup-test-topic",
    change: (s) => (at(s, "storage.pvc").claimName = "Backup_Claim"),
    field: "spec.storage.pvc.claimName",
    message: /should match/,
  },
  {
    why: "pvc.subPath escaping the claim",
    base: "backup-test-topic",
    change: (s) => (at(s, "storage.pvc").subPath = "backups/../../etc"),
    field: "spec.storage.pvc.subPath",
    message: /pvc.subPath must not contain '..' segments/,
  },
  {
    why: "absolute s3.prefix",
    base: "s3-backup",
    change: (s) => (at(s, "storage.s3").prefix = "/backups"),
    field: "spec.storage.s3.prefix",
    message: /s3.prefix must be a relative path/,
  },
  {
    why: "http endpoint without allowHttp",
    base: "s3-backup",
    change: (s) => delete at(s, "storage.s3").allowHttp,
    field: "spec.storage.s3.allowHttp",
    message: /allowHttp must be true for an http:\/\/ endpoint/,
  },
  {
    why: "two Azure authentication methods",
    base: "production-backup",
    change: (s) => (at(s, "storage.azure").sasTokenSecret = { name: "sas" }),
    field: "spec.storage.azure",
    message: /mutually exclusive/,
  },
  {
    why: "unknown compression",
    base: "s3-backup",
    change: (s) => (s.compression = "snappy"),
    field: "spec.compression",
    message: /Unsupported value: "snappy"/,
  },
  {
    why: "zstd level 0",
    base: "s3-backup",
    change: (s) => (s.compressionLevel = 0),
    field: "spec.compressionLevel",
    message: /between 1 and 22 when compression is zstd/,
  },
  {
    why: "gzip level 12",
    base: "s3-backup",
    change: (s) => Object.assign(s, { compression: "gzip", compressionLevel: 12 }),
    field: "spec.compressionLevel",
    message: /between 1 and 9 when compression is gzip/,
  },
  {
    why: "continuous and stopAtCurrentOffsets",
    base: "strimzi-tls-scheduled",
    change: (s) => (s.continuous = true),
    field: "spec.stopAtCurrentOffsets",
    message: /continuous and stopAtCurrentOffsets cannot both be true/,
  },
  {
    why: "schedule in words",
    base: "s3-backup",
    change: (s) => (s.schedule = "every day at 2"),
    field: "spec.schedule",
    message: /cron expression of 5, 6 or 7/,
  },
  {
    why: "4-field cron",
    base: "s3-backup",
    change: (s) => (s.schedule = "0 2 * *"),
    field: "spec.schedule",
    message: /cron expression of 5, 6 or 7/,
  },
  {
    why: "8-field cron",
    base: "s3-backup",
    change: (s) => (s.schedule = "0 0 2 * * * * *"),
    field: "spec.schedule",
    message: /cron expression of 5, 6 or 7/,
  },
  {
    why: "time zone not an IANA name",
    base: "patterns-job",
    change: (s) => (s.timeZone = "Central European Time"),
    field: "spec.timeZone",
    message: /should match/,
  },
  {
    why: "retention without keepLast or maxAgeDays",
    base: "strimzi-tls-scheduled",
    change: (s) => (s.retention = { enabled: true }),
    field: "spec.retention",
    message: /keepLast or retention.maxAgeDays is required/,
  },
  {
    why: "retention keepLast 0",
    base: "strimzi-tls-scheduled",
    change: (s) => (at(s, "retention").keepLast = 0),
    field: "spec.retention.keepLast",
    message: /greater than or equal to 1/,
  },
  {
    why: "segmentMaxBytes 0",
    base: "s3-backup",
    change: (s) => (s.segmentMaxBytes = 0),
    field: "spec.segmentMaxBytes",
    message: /greater than or equal to 1/,
  },
  {
    why: "maxConcurrentPartitions 0",
    base: "backup-test-topic",
    change: (s) => (at(s, "rateLimiting").maxConcurrentPartitions = 0),
    field: "spec.rateLimiting.maxConcurrentPartitions",
    message: /greater than or equal to 1/,
  },
  {
    why: "negative bytesPerSec",
    base: "backup-test-topic",
    change: (s) => (at(s, "rateLimiting").bytesPerSec = -5),
    field: "spec.rateLimiting.bytesPerSec",
    message: /greater than or equal to 0/,
  },
  {
    why: "connectionsPerBroker 0",
    base: "production-backup",
    change: (s) => (at(s, "kafkaCluster.connection").connectionsPerBroker = 0),
    field: "spec.kafkaCluster.connection.connectionsPerBroker",
    message: /greater than or equal to 1/,
  },
  {
    why: "unknown concurrency policy",
    base: "patterns-job",
    change: (s) => (s.concurrencyPolicy = "Sometimes"),
    field: "spec.concurrencyPolicy",
    message: /Unsupported value: "Sometimes"/,
  },
  {
    why: "unknown deletion policy",
    base: "patterns-job",
    change: (s) => (s.deletionPolicy = "Purge"),
    field: "spec.deletionPolicy",
    message: /Unsupported value: "Purge"/,
  },
  {
    why: "encryption without keySecret",
    base: "patterns-job",
    change: (s) => (s.encryption = {}),
    field: "spec.encryption.keySecret",
    message: /Required value/,
  },
  {
    why: "execution mode pod",
    base: "patterns-job",
    change: (s) => (at(s, "execution").mode = "pod"),
    field: "spec.execution.mode",
    message: /Unsupported value: "pod"/,
  },
  {
    why: "zero workers",
    base: "patterns-job",
    change: (s) => (at(s, "execution").workers = 0),
    field: "spec.execution.workers",
    message: /greater than or equal to 1/,
  },
  {
    why: "topic name with a space",
    base: "s3-backup",
    change: (s) => (s.topics = ["my topic"]),
    field: "spec.topics[0]",
    message: /should match/,
  },
  {
    why: "misspelt field (kubectl's strict field validation)",
    base: "strimzi-tls-scheduled",
    change: (s) => {
      delete s.stopAtCurrentOffsets;
      s.stopAtCurrentOffset = true;
    },
    field: "spec.stopAtCurrentOffset",
    message: /unknown field/,
  },
  {
    why: "name longer than a DNS label",
    base: "s3-backup",
    change: (_s, m) => (m.metadata.name = `b${"x".repeat(63)}`),
    field: "metadata.name",
    message: /63/,
  },
];

export const invalidOthers: Invalid[] = [
  {
    why: "restore: PITR start after end (epoch ms)",
    base: "restore-everything",
    change: (s) => (at(s, "pitr").startTimestamp = 1765368000001),
    field: "spec.pitr.startTimestamp",
    message: /startTimestamp must be before pitr.endTimestamp/,
  },
  {
    why: "restore: PITR start after end (RFC 3339)",
    base: "restore-everything",
    change: (s) => (s.pitr = { startTime: "2025-12-11T00:00:00Z", endTime: "2025-12-10T00:00:00Z" }),
    field: "spec.pitr.startTime",
    message: /startTime must be before pitr.endTime/,
  },
  {
    why: "restore: into same-named topics without purgeTopics",
    base: "restore-test",
    change: (s) => delete s.topicMapping,
    field: "spec.topics",
    message: /needs purgeTopics: true/,
  },
  {
    why: "restore: produceAcks 2",
    base: "restore-test",
    change: (s) => (s.produceAcks = 2),
    field: "spec.produceAcks",
    message: /Unsupported value: 2/,
  },
  {
    why: "restore: zero target partitions",
    base: "restore-orders",
    change: (s) => (at(s, "repartitioning")["orders-restored"] = { targetPartitions: 0 }),
    field: "spec.repartitioning.orders-restored.targetPartitions",
    message: /greater than or equal to 1/,
  },
  {
    why: "restore: partitionMapping key not a number",
    base: "restore-everything",
    change: (s) => (s.partitionMapping = { first: 1 }),
    field: "spec.partitionMapping",
    message: /keys must be partition numbers/,
  },
  {
    why: "restore: neither backup name nor storage",
    base: "restore-test",
    change: (s) => (s.backupRef = { name: "" }),
    field: "spec.backupRef.name",
    message: /backupRef.name or backupRef.storage is required/,
  },
  {
    why: "offset reset: to-timestamp without resetTimestamp",
    base: "reset-to-timestamp",
    change: (s) => delete s.resetTimestamp,
    field: "spec.resetTimestamp",
    message: /resetTimestamp is required when resetStrategy is to-timestamp/,
  },
  {
    why: "offset reset: unknown strategy",
    base: "reset-consumer",
    change: (s) => (s.resetStrategy = "to-middle"),
    field: "spec.resetStrategy",
    message: /Unsupported value: "to-middle"/,
  },
  {
    why: "offset reset: no groups",
    base: "reset-consumer",
    change: (s) => (s.consumerGroups = []),
    field: "spec.consumerGroups",
    message: /at least 1 items/,
  },
  {
    why: "offset reset: from-mapping without a mapping",
    base: "reset-from-mapping",
    change: (s) => (s.offsetMappingRef = {}),
    field: "spec.offsetMappingRef",
    message: /needs restoreName, path or pvcName/,
  },
  {
    why: "offset rollback: snapshot named nowhere",
    base: "rollback-by-reference",
    change: (s) => (s.snapshotRef = { name: "" }),
    field: "spec.snapshotRef.name",
    message: /snapshotRef.name, path, restoreRef or offsetResetRef is required/,
  },
  {
    why: "validation: every check disabled",
    base: "validate-direct",
    change: (s) => (s.checks = { messageCount: { enabled: false }, deepIntegrity: { enabled: false } }),
    field: "spec.checks",
    message: /at least one validation check must be enabled/,
  },
  {
    why: "validation: consumer-group check without a cluster",
    base: "validate-nightly",
    change: (s) => delete s.kafkaCluster,
    field: "spec.kafkaCluster",
    message: /kafkaCluster is required when checks.consumerGroupOffsets is enabled/,
  },
  {
    why: "validation: webhook URL not http(s)",
    base: "validate-nightly",
    change: (s) => ((at(s, "checks").customWebhooks as Json[])[0] = { name: "x", url: "ftp://example.com" }),
    field: "spec.checks.customWebhooks[0].url",
    message: /should match/,
  },
  {
    why: "validation: evidence format docx",
    base: "validate-nightly",
    change: (s) => (at(s, "evidence").formats = ["docx"]),
    field: "spec.evidence.formats[0]",
    message: /Unsupported value: "docx"/,
  },
  {
    why: "validation: 7-field cron with a typo",
    base: "validate-nightly",
    change: (s) => (s.schedule = "0 0 6 * * *  * extra"),
    field: "spec.schedule",
    message: /cron expression/,
  },
];

// Hostile input (issue 11): wrong types, absurd sizes, odd characters, path traversal, cron
// garbage, unknown enum values and missing fields across the five kinds. What only the
// controllers can judge is in test/e2e/hostile-manifests.test.ts.
const long = (n: number) => "x".repeat(n);
export const invalidHostile: Invalid[] = [
  // KafkaBackup
  {
    why: "backup: topics a string, not a list",
    base: "s3-backup",
    change: (s) => (s.topics = "orders"),
    field: "spec.topics",
    message: /must be of type array/,
  },
  {
    why: "backup: segmentMaxBytes with a unit",
    base: "s3-backup",
    change: (s) => (s.segmentMaxBytes = "128MiB"),
    field: "spec.segmentMaxBytes",
    message: /must be of type integer/,
  },
  {
    why: 'backup: continuous "sometimes"',
    base: "s3-backup",
    change: (s) => (s.continuous = "sometimes"),
    field: "spec.continuous",
    message: /must be of type boolean/,
  },
  {
    why: "backup: bootstrapServers a string",
    base: "s3-backup",
    change: (s) => (at(s, "kafkaCluster").bootstrapServers = "kafka:9092"),
    field: "spec.kafkaCluster.bootstrapServers",
    message: /must be of type array/,
  },
  {
    why: "backup: a 1 TiB segment",
    base: "s3-backup",
    change: (s) => (s.segmentMaxBytes = 2 ** 40),
    field: "spec.segmentMaxBytes",
    message: /less than or equal to 1073741824/,
  },
  {
    why: "backup: 65 bootstrap servers",
    base: "s3-backup",
    change: (s) => (at(s, "kafkaCluster").bootstrapServers = Array.from({ length: 65 }, (_, i) => `kafka-${i}:9092`)),
    field: "spec.kafkaCluster.bootstrapServers",
    message: /at most 64 items/,
  },
  {
    why: "backup: a 250-character topic name",
    base: "s3-backup",
    change: (s) => (s.topics = [long(250)]),
    field: "spec.topics[0]",
    message: /Too long|may not be (longer|more) than 249/,
  },
  {
    why: "backup: a 200-character schedule",
    base: "s3-backup",
    change: (s) => (s.schedule = `0 0 2 * * ${"1,".repeat(100)}1`),
    field: "spec.schedule",
    message: /Too long|128/,
  },
  {
    why: "backup: 1000 connections per broker",
    base: "production-backup",
    change: (s) => (at(s, "kafkaCluster.connection").connectionsPerBroker = 1000),
    field: "spec.kafkaCluster.connection.connectionsPerBroker",
    message: /less than or equal to 64/,
  },
  {
    why: "backup: a '.' segment in s3.prefix",
    base: "s3-backup",
    change: (s) => (at(s, "storage.s3").prefix = "backups/./prod"),
    field: "spec.storage.s3.prefix",
    message: /s3.prefix must not contain '.' or empty segments/,
  },
  {
    why: "backup: an empty segment in s3.prefix",
    base: "s3-backup",
    change: (s) => (at(s, "storage.s3").prefix = "backups//prod"),
    field: "spec.storage.s3.prefix",
    message: /s3.prefix must not contain '.' or empty segments/,
  },
  {
    why: "backup: a newline in s3.prefix",
    base: "s3-backup",
    change: (s) => (at(s, "storage.s3").prefix = "backups\nprod"),
    field: "spec.storage.s3.prefix",
    message: /s3.prefix must not contain control characters/,
  },
  {
    why: "backup: azure.prefix into another tenant's folder",
    base: "azure-account-key",
    change: (s) => (at(s, "storage.azure").prefix = "../other-tenant"),
    field: "spec.storage.azure.prefix",
    message: /azure.prefix must not contain '..' segments/,
  },
  {
    why: "backup: gcs.prefix climbing out",
    base: "gcs-continuous",
    change: (s) => (at(s, "storage.gcs").prefix = "clicks/../../x"),
    field: "spec.storage.gcs.prefix",
    message: /gcs.prefix must not contain '..' segments/,
  },
  {
    why: "backup: checkpoint subPath escaping its claim",
    base: "s3-backup",
    change: (s) => (s.checkpoint = { storage: { pvcName: "checkpoints", subPath: "../../etc" } }),
    field: "spec.checkpoint.storage.subPath",
    message: /checkpoint.storage.subPath must not contain '..' segments/,
  },
  {
    why: "backup: a Secret name with capitals and an underscore",
    base: "s3-backup",
    change: (s) => (at(s, "storage.s3.credentialsSecret").name = "AWS_Credentials"),
    field: "spec.storage.s3.credentialsSecret.name",
    message: /should match/,
  },
  {
    why: "backup: a bucket name with a space and a '!'",
    base: "s3-backup",
    change: (s) => (at(s, "storage.s3").bucket = "my bucket!"),
    field: "spec.storage.s3.bucket",
    message: /should match/,
  },
  {
    why: "backup: a resource name with capitals",
    base: "s3-backup",
    change: (_s, m) => (m.metadata.name = "Backup-Prod"),
    field: "metadata.name",
    message: /RFC 1123/,
  },
  {
    why: "backup: a shell command after the cron",
    base: "s3-backup",
    change: (s) => (s.schedule = "0 2 * * * ; rm -rf /"),
    field: "spec.schedule",
    message: /cron expression of 5, 6 or 7/,
  },
  {
    why: "backup: @every is not a cron macro",
    base: "s3-backup",
    change: (s) => (s.schedule = "@every 5m"),
    field: "spec.schedule",
    message: /cron expression of 5, 6 or 7/,
  },
  {
    why: "backup: toleration operator Maybe",
    base: "patterns-job",
    change: (s) => (at(s, "execution").tolerations = [{ key: "x", operator: "Maybe" }]),
    field: "spec.execution.tolerations[0].operator",
    message: /Unsupported value: "Maybe"/,
  },
  {
    why: "backup: no storage",
    base: "s3-backup",
    change: (s) => delete s.storage,
    field: "spec.storage",
    message: /Required value/,
  },
  // KafkaRestore
  {
    why: "restore: no backupRef",
    base: "restore-test",
    change: (s) => delete s.backupRef,
    field: "spec.backupRef",
    message: /Required value/,
  },
  {
    why: "restore: no kafkaCluster",
    base: "restore-test",
    change: (s) => delete s.kafkaCluster,
    field: "spec.kafkaCluster",
    message: /Required value/,
  },
  {
    why: "restore: produceBatchSize a string",
    base: "restore-test",
    change: (s) => (s.produceBatchSize = "1000"),
    field: "spec.produceBatchSize",
    message: /must be of type integer/,
  },
  {
    why: "restore: ten million records per produce request",
    base: "restore-test",
    change: (s) => (s.produceBatchSize = 10_000_000),
    field: "spec.produceBatchSize",
    message: /less than or equal to 1000000/,
  },
  {
    why: "restore: a million target partitions",
    base: "restore-orders",
    change: (s) => (at(s, "repartitioning")["orders-restored"] = { targetPartitions: 1_000_000 }),
    field: "spec.repartitioning.orders-restored.targetPartitions",
    message: /less than or equal to 100000/,
  },
  {
    why: "restore: snapshot subPath escaping its claim",
    base: "restore-everything",
    change: (s) => (at(s, "rollback.snapshotStorage").subPath = "restore/../../../etc"),
    field: "spec.rollback.snapshotStorage.subPath",
    message: /rollback.snapshotStorage.subPath must not contain '..' segments/,
  },
  {
    why: "restore: absolute prefix in backupRef.storage",
    base: "restore-everything",
    change: (s) => (at(s, "backupRef.storage.s3").prefix = "/etc"),
    field: "spec.backupRef.storage.s3.prefix",
    message: /s3.prefix must be a relative path/,
  },
  {
    why: "restore: backupId climbing out of the prefix",
    base: "restore-everything",
    change: (s) => (at(s, "backupRef").backupId = "../../other/backup"),
    field: "spec.backupRef.backupId",
    message: /should match/,
  },
  {
    why: "restore: a target topic with a slash and a space",
    base: "restore-orders",
    change: (s) => (s.topicMapping = { orders: "orders/restored now" }),
    field: "spec.topicMapping.orders",
    message: /should match/,
  },
  {
    why: "restore: repartitioning strategy random",
    base: "restore-orders",
    change: (s) => (at(s, "repartitioning")["orders-restored"] = { targetPartitions: 6, strategy: "random" }),
    field: "spec.repartitioning.orders-restored.strategy",
    message: /Unsupported value: "random"/,
  },
  {
    why: "restore: offset bounds the wrong way round",
    base: "restore-orders",
    change: (s) => (s.offsetBounds = [{ topic: "orders", startOffset: 100, endOffset: 10 }]),
    field: "spec.offsetBounds[0].startOffset",
    message: /startOffset must not be after endOffset/,
  },
  {
    why: "restore: replication factor 0",
    base: "restore-orders",
    change: (s) => (s.defaultReplicationFactor = 0),
    field: "spec.defaultReplicationFactor",
    message: /must not be 0/,
  },
  // KafkaOffsetReset
  {
    why: "offset reset: consumerGroups a string",
    base: "reset-consumer",
    change: (s) => (s.consumerGroups = "my-consumer-group"),
    field: "spec.consumerGroups",
    message: /must be of type array/,
  },
  {
    why: "offset reset: resetTimestamp in words",
    base: "reset-to-timestamp",
    change: (s) => (s.resetTimestamp = "yesterday"),
    field: "spec.resetTimestamp",
    message: /must be of type integer/,
  },
  {
    why: "offset reset: parallelism 100000",
    base: "reset-to-timestamp",
    change: (s) => (s.parallelism = 100_000),
    field: "spec.parallelism",
    message: /less than or equal to 1000/,
  },
  {
    why: "offset reset: negative resetOffset",
    base: "reset-to-offset",
    change: (s) => (s.resetOffset = -1),
    field: "spec.resetOffset",
    message: /greater than or equal to 0/,
  },
  {
    why: "offset reset: shift-by without shiftBy",
    base: "reset-consumer",
    change: (s) => (s.resetStrategy = "shift-by"),
    field: "spec.shiftBy",
    message: /shiftBy is required when resetStrategy is shift-by/,
  },
  {
    why: "offset reset: to-offset without resetOffset",
    base: "reset-consumer",
    change: (s) => (s.resetStrategy = "to-offset"),
    field: "spec.resetOffset",
    message: /resetOffset is required when resetStrategy is to-offset/,
  },
  {
    why: "offset reset: snapshot subPath escaping its claim",
    base: "reset-consumer",
    change: (s) => (s.snapshotStorage = { storage: { pvc: { claimName: "snapshots", subPath: "a/../../b" } } }),
    field: "spec.snapshotStorage.storage.pvc.subPath",
    message: /pvc.subPath must not contain '..' segments/,
  },
  {
    why: "offset reset: a 256-character group ID",
    base: "reset-consumer",
    change: (s) => (s.consumerGroups = [long(256)]),
    field: "spec.consumerGroups[0]",
    message: /Too long|may not be (longer|more) than 255/,
  },
  {
    why: "offset reset: no kafkaCluster",
    base: "reset-consumer",
    change: (s) => delete s.kafkaCluster,
    field: "spec.kafkaCluster",
    message: /Required value/,
  },
  // KafkaOffsetRollback
  {
    why: "offset rollback: no snapshotRef",
    base: "rollback-reset",
    change: (s) => delete s.snapshotRef,
    field: "spec.snapshotRef",
    message: /Required value/,
  },
  {
    why: "offset rollback: no kafkaCluster",
    base: "rollback-reset",
    change: (s) => delete s.kafkaCluster,
    field: "spec.kafkaCluster",
    message: /Required value/,
  },
  {
    why: 'offset rollback: dryRun "never"',
    base: "rollback-reset",
    change: (s) => (s.dryRun = "never"),
    field: "spec.dryRun",
    message: /must be of type boolean/,
  },
  {
    why: "offset rollback: consumerGroups a number",
    base: "rollback-reset",
    change: (s) => (s.consumerGroups = 42),
    field: "spec.consumerGroups",
    message: /must be of type array/,
  },
  {
    why: "offset rollback: restoreRef with capitals and an underscore",
    base: "rollback-by-reference",
    change: (s) => (s.snapshotRef = { name: "", restoreRef: "Restore_1" }),
    field: "spec.snapshotRef.restoreRef",
    message: /should match/,
  },
  {
    why: "offset rollback: pvcName with a path in it",
    base: "rollback-reset",
    change: (s) => (at(s, "snapshotRef").pvcName = "../kafka-backup-storage"),
    field: "spec.snapshotRef.pvcName",
    message: /should match/,
  },
  {
    why: "offset rollback: a 5000-character snapshot path",
    base: "rollback-reset",
    change: (s) => (at(s, "snapshotRef").path = `/${long(4999)}`),
    field: "spec.snapshotRef.path",
    message: /Too long|may not be (longer|more) than 4096/,
  },
  {
    why: "offset rollback: misspelt snapshotRef field",
    base: "rollback-by-reference",
    change: (s) => (s.snapshotRef = { name: "", offsetResetRef: "reset-to-timestamp", snapshotName: "x" }),
    field: "spec.snapshotRef.snapshotName",
    message: /unknown field/,
  },
  {
    why: "offset rollback: unknown security protocol",
    base: "rollback-reset",
    change: (s) => (at(s, "kafkaCluster").securityProtocol = "KERBEROS"),
    field: "spec.kafkaCluster.securityProtocol",
    message: /Unsupported value: "KERBEROS"/,
  },
  // KafkaBackupValidation
  {
    why: "validation: no backupRef",
    base: "validate-direct",
    change: (s) => delete s.backupRef,
    field: "spec.backupRef",
    message: /Required value/,
  },
  {
    why: "validation: no checks",
    base: "validate-direct",
    change: (s) => delete s.checks,
    field: "spec.checks",
    message: /Required value/,
  },
  {
    why: "validation: PagerDuty severity apocalyptic",
    base: "validate-nightly",
    change: (s) => (at(s, "notifications.pagerduty").severity = "apocalyptic"),
    field: "spec.notifications.pagerduty.severity",
    message: /Unsupported value: "apocalyptic"/,
  },
  {
    why: "validation: evidence kept 0 days",
    base: "validate-nightly",
    change: (s) => (at(s, "evidence").retentionDays = 0),
    field: "spec.evidence.retentionDays",
    message: /greater than or equal to 1/,
  },
  {
    why: "validation: a webhook timeout of 28 hours",
    base: "validate-nightly",
    change: (s) =>
      ((at(s, "checks").customWebhooks as Json[])[0] = { name: "x", url: "https://x.example", timeoutSecs: 100_000 }),
    field: "spec.checks.customWebhooks[0].timeoutSecs",
    message: /less than or equal to 3600/,
  },
  {
    why: "validation: 33 webhooks",
    base: "validate-nightly",
    change: (s) =>
      (at(s, "checks").customWebhooks = Array.from({ length: 33 }, (_, i) => ({ name: `w${i}`, url: "https://x.example" }))),
    field: "spec.checks.customWebhooks",
    message: /at most 32 items/,
  },
  {
    why: "validation: expected HTTP status 700",
    base: "validate-nightly",
    change: (s) =>
      ((at(s, "checks").customWebhooks as Json[])[0] = { name: "x", url: "https://x.example", expectedStatusCode: 700 }),
    field: "spec.checks.customWebhooks[0].expectedStatusCode",
    message: /less than or equal to 599/,
  },
  {
    why: "validation: evidence prefix climbing out",
    base: "validate-direct",
    change: (s) => (s.evidence = { storage: { storageType: "pvc", pvc: { claimName: "evidence", subPath: "../../root" } } }),
    field: "spec.evidence.storage.pvc.subPath",
    message: /pvc.subPath must not contain '..' segments/,
  },
  {
    why: "validation: time zone as a path out of zoneinfo",
    base: "validate-nightly",
    change: (s) => (s.timeZone = "../../../etc/passwd"),
    field: "spec.timeZone",
    message: /should match/,
  },
  {
    why: "validation: @reboot",
    base: "validate-nightly",
    change: (s) => (s.schedule = "@reboot"),
    field: "spec.schedule",
    message: /cron expression/,
  },
  {
    why: 'validation: check enabled "true" as a string',
    base: "validate-direct",
    change: (s) => (at(s, "checks").deepIntegrity = { enabled: "true" }),
    field: "spec.checks.deepIntegrity.enabled",
    message: /must be of type boolean/,
  },
];

/** Every invalid manifest, counted per kind. */
export function invalidPerKind(): Map<string, number> {
  const perKind = new Map<string, number>();
  for (const c of [...invalidBackups, ...invalidOthers, ...invalidHostile]) {
    const kind = fixture(c.base).kind;
    perKind.set(kind, (perKind.get(kind) ?? 0) + 1);
  }
  return perKind;
}
