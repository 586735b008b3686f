// The spec and status schemas of the five kinds. Existing fields keep the existing operator's
// name, type and default (research/operator-anchor.md §1.2-§1.8); additions say so in their
// description and are optional. Cross-field rules are CEL with a message naming the field.
import {
  array,
  boolean,
  dateTime,
  describe,
  freeform,
  int32,
  integer,
  map,
  named,
  number,
  object,
  rule,
  type Schema,
  string,
} from "./openapi.ts";
import {
  backupRef,
  circuitBreaker,
  conditions,
  cronSchedule,
  execution,
  kafkaCluster,
  observedGeneration,
  patterns,
  phase,
  rateLimiting,
  relativePath,
  resourceName,
  secretKey,
  secretName,
  storage,
  timeZone,
} from "./shared.ts";

const topicName = (description: string) => string(description, { minLength: 1, maxLength: 249, pattern: patterns.topic });
const topicList = (description: string, o: { default?: string[] } = {}) =>
  array(description, topicName("A topic name."), { maxItems: 10000, ...o });
const groupId = string("A consumer group ID.", { minLength: 1, maxLength: 255 });
const groupList = (description: string, o: { default?: string[]; minItems?: number } = {}) =>
  array(description, groupId, { maxItems: 10000, ...o });
const topicPatterns = (description: string) =>
  array(
    description,
    string("A glob (orders-*, ?) or a regular expression prefixed with ~ (~^orders-\\d+$).", {
      minLength: 1,
      maxLength: 256,
    }),
    { maxItems: 256 },
  );
const count = (description: string) => integer(description, { minimum: 0 });
const rate = (description: string) => number(description, { minimum: 0 });
const percent = (description: string) => number(description, { minimum: 0, maximum: 100 });
const duration = string('Wall-clock duration of the run, e.g. "1.23s".', { maxLength: 64 });

function status(typeNameOf: string, description: string, fields: Record<string, Schema>): Schema {
  return named(
    typeNameOf,
    object(description, {
      ...fields,
      message: string("Human-readable summary of the current state.", { maxLength: 32768 }),
      observedGeneration,
      conditions,
    }),
  );
}

const jobStatus = named(
  "JobStatus",
  object("Addition: the Indexed Job running this work in execution mode job.", {
    name: string("Name of the Job.", { maxLength: 253 }),
    workers: count("Worker pods (completions)."),
    active: count("Worker pods running."),
    succeeded: count("Workers finished."),
    failed: count("Worker pod failures."),
    failedShard: count("Index of the worker whose failure failed the run."),
    failureReason: string("Why the Job failed (the failing shard's reason, or DeadlineExceeded).", { maxLength: 4096 }),
  }),
);

const pvcPathRef = (typeNameOf: string, description: string, pvcField: string) =>
  named(
    typeNameOf,
    object(
      description,
      {
        pvcName: resourceName("Name of the PersistentVolumeClaim."),
        subPath: relativePath(`${pvcField}.subPath`, "Folder inside the claim."),
      },
      { required: ["pvcName"] },
    ),
  );

// ---- KafkaBackup ----------------------------------------------------------------------------

const retention = named(
  "RetentionSpec",
  object(
    "Deletes old backup sets of this KafkaBackup after each successful run: whole chains (a full set and the incremental sets built on it), only sets whose manifest names this KafkaBackup as owner, never the chain being written or the newest complete one.",
    {
      enabled: boolean("Apply retention after each successful backup.", { default: false }),
      maxAgeDays: int32("Delete a chain once even its newest set is older than this many days.", { minimum: 1 }),
      keepLast: int32(
        "Keep the chains holding the newest N complete backup sets (at least N restore points); delete older chains.",
        { minimum: 1 },
      ),
      dryRun: boolean("Only report what would be deleted (status.retentionEligibleBackups), delete nothing.", {
        default: false,
      }),
    },
    {
      rules: [
        rule(
          "!self.enabled || has(self.keepLast) || has(self.maxAgeDays)",
          "retention.keepLast or retention.maxAgeDays is required when retention.enabled is true",
        ),
      ],
    },
  ),
);

const chain = named(
  "BackupChainSpec",
  object(
    "Addition: incremental scheduled backups. Each tick backs up only what arrived since the previous complete set of this KafkaBackup; a full set starts a new chain every fullBackupEvery sets, when the annotation kafka.oso.sh/full-backup gets a new value, and whenever the previous set cannot serve as a base (partitions added, topic recreated or truncated, encryption key changed). Restore, validation and retention work on whole chains. One-shot and continuous backups are always full sets.",
    {
      fullBackupEvery: int32("A full set every this many scheduled sets (1: every set full, no chains).", {
        default: 7,
        minimum: 1,
        maximum: 1000,
      }),
    },
  ),
);

const backupRetryPolicy = named(
  "BackupRetryPolicySpec",
  object(
    "Addition: retries of a failed one-shot backup, resuming the same backup set from its checkpoints, with exponential backoff. A failed one-shot backup can also be retried by hand: give the annotation kafka.oso.sh/retry a new value.",
    {
      maxRetries: int32("Retries after a failure (0: none).", { default: 0, minimum: 0, maximum: 100 }),
      backoffSeconds: int32("Wait before the first retry; doubled for each further one.", {
        default: 30,
        minimum: 1,
        maximum: 86400,
      }),
      maxBackoffSeconds: int32("The longest wait between retries.", { default: 3600, minimum: 1, maximum: 86400 }),
    },
  ),
);

const checkpoint = named(
  "CheckpointSpec",
  object("Checkpoints make a run resumable after a crash or restart (per-partition progress).", {
    enabled: boolean("Write checkpoints.", { default: true }),
    intervalSecs: integer("Seconds between checkpoints.", { default: 30, minimum: 1, maximum: 86400 }),
    storage: pvcPathRef(
      "CheckpointStorageSpec",
      "Keep checkpoints on this PersistentVolumeClaim instead of beside the backup.",
      "checkpoint.storage",
    ),
  }),
);

const backupMetrics = named(
  "BackupMetricsSpec",
  object(
    "Engine metrics of this backup. They are served on the controller's one /metrics endpoint; port, bindAddress, path and updateIntervalMs are accepted for compatibility and have no effect (the existing operator ignored them too).",
    {
      enabled: boolean("Emit engine metrics (records, bytes, lag, throughput) for this backup.", { default: true }),
      port: int32("Ignored (one /metrics endpoint per controller).", { default: 9090, minimum: 1, maximum: 65535 }),
      bindAddress: string("Ignored (one /metrics endpoint per controller).", { default: "0.0.0.0", maxLength: 64 }),
      path: string("Ignored (one /metrics endpoint per controller).", { default: "/metrics", maxLength: 256 }),
      updateIntervalMs: integer("Ignored (metrics are updated as records flow).", { default: 500, minimum: 0 }),
      maxPartitionLabels: int32("Maximum partitions labelled individually; 0 = no cap.", { default: 100, minimum: 0 }),
    },
  ),
);

const encryption = named(
  "EncryptionSpec",
  object(
    "Addition: client-side AES-256-GCM encryption of segments. Without the key the backup is unreadable; keep the Secret safe.",
    {
      keySecret: named(
        "EncryptionKeySecretRef",
        object(
          "The Secret holding the 32-byte key (base64 or 64 hex digits).",
          { name: secretName("the encryption key"), key: secretKey("Key of the encryption key in the Secret.", "key") },
          { required: ["name"] },
        ),
      ),
    },
    { required: ["keySecret"] },
  ),
);

const backupSpec = named(
  "KafkaBackupSpec",
  object(
    "What to back up, from where, to where, and when.",
    {
      kafkaCluster,
      topics: topicList(
        "Topics to back up, by exact name; each must exist. Required unless includeTopics is given (the existing operator requires it).",
      ),
      includeTopics: topicPatterns(
        "Addition: also back up every topic matching one of these globs or ~regular expressions (internal topics only with includeInternalTopics).",
      ),
      excludeTopics: topicPatterns("Addition: leave out topics matching one of these globs or ~regular expressions."),
      includeInternalTopics: boolean("Addition: let includeTopics match internal topics (names starting with __).", {
        default: false,
      }),
      storage,
      compression: string("Segment compression: zstd, lz4, gzip or none.", {
        default: "zstd",
        enum: ["zstd", "lz4", "gzip", "none"],
      }),
      compressionLevel: int32("Compression level: 1-22 for zstd, 1-9 for gzip; ignored for lz4 and none.", {
        default: 3,
        minimum: 0,
        maximum: 22,
      }),
      segmentMaxBytes: integer("Start a new segment after this many bytes (at most 1 GiB: a segment is buffered in memory).", {
        default: 134217728,
        minimum: 1,
        maximum: 1073741824,
      }),
      segmentMaxIntervalMs: integer("Start a new segment after this many milliseconds.", {
        default: 60000,
        minimum: 1,
      }),
      segmentMaxRecords: integer("Addition: start a new segment after this many records; unset = no record limit.", {
        minimum: 1,
      }),
      memoryBudgetMiB: int32(
        "Addition: MiB of record data the run holds in memory at once (fetch responses, open segments, segments being stored); segments are cut smaller to stay within it. The controller's or worker's memory limit must leave room for it plus about 100 MiB.",
        { default: 32, minimum: 16, maximum: 65536 },
      ),
      continuous: boolean("Stream continuously: the backup never completes. Excludes stopAtCurrentOffsets.", {
        default: false,
      }),
      stopAtCurrentOffsets: boolean("Snapshot mode: stop at the high-watermarks captured when the run starts.", {
        default: false,
      }),
      includeOffsetHeaders: boolean(
        "Keep each record's original offset (our format always stores it; kept for compatibility, used by offset translation on restore).",
        { default: true },
      ),
      sourceClusterId: string("Identifier of the source cluster, recorded in the manifest.", { maxLength: 253 }),
      pollIntervalMs: integer("Milliseconds between fetches when caught up (continuous mode).", {
        default: 100,
        minimum: 0,
        maximum: 60000,
      }),
      consumerGroupSnapshot: boolean("Store the committed offsets of the consumer groups with the backup.", {
        default: false,
      }),
      schedule: cronSchedule("backup runs"),
      timeZone: timeZone("schedule"),
      concurrencyPolicy: string(
        "Addition: what a scheduled tick does while the previous run is still going: Forbid (skip the tick) or Replace (cancel the running one, start the new one). Allow is not offered: two runs of one backup would race for the same partitions.",
        { default: "Forbid", enum: ["Forbid", "Replace"] },
      ),
      startingDeadlineSeconds: integer(
        "Addition: a tick missed by more than this many seconds (controller down, previous run still going) is skipped; unset = always catch up once.",
        { minimum: 0 },
      ),
      suspend: boolean("Suspend scheduling and stop a running backup (phase Suspended) until set back to false.", {
        default: false,
      }),
      checkpoint,
      rateLimiting,
      circuitBreaker,
      retention,
      metrics: backupMetrics,
      deletionPolicy: string(
        "Addition: what deleting the KafkaBackup does to the data: Retain (default, keep every backup set) or Delete (delete this backup's sets).",
        { default: "Retain", enum: ["Retain", "Delete"] },
      ),
      encryption,
      execution,
      chain,
      retryPolicy: backupRetryPolicy,
    },
    {
      required: ["kafkaCluster", "storage"],
      rules: [
        rule(
          "(has(self.topics) && size(self.topics) > 0) || (has(self.includeTopics) && size(self.includeTopics) > 0)",
          "topics must list at least one topic (or use includeTopics)",
          { fieldPath: ".topics", reason: "FieldValueRequired" },
        ),
        rule(
          "self.compression != 'zstd' || (self.compressionLevel >= 1 && self.compressionLevel <= 22)",
          "compressionLevel must be between 1 and 22 when compression is zstd",
          { fieldPath: ".compressionLevel" },
        ),
        rule(
          "self.compression != 'gzip' || (self.compressionLevel >= 1 && self.compressionLevel <= 9)",
          "compressionLevel must be between 1 and 9 when compression is gzip",
          { fieldPath: ".compressionLevel" },
        ),
        rule("!(self.continuous && self.stopAtCurrentOffsets)", "continuous and stopAtCurrentOffsets cannot both be true", {
          fieldPath: ".stopAtCurrentOffsets",
        }),
      ],
    },
  ),
);

const backupStatus = status("KafkaBackupStatus", "Observed state of the KafkaBackup, written by the controller.", {
  phase: phase("Lifecycle phase.", ["Pending", "Ready", "Running", "Completed", "Failed", "Suspended"]),
  backupId: string("ID of the current or last backup set, {namespace}.{name}-{YYYYMMDD-HHMMSS} (UTC).", { maxLength: 253 }),
  chainId: string("Addition: the chain of the current or last set (the backupId of its full set).", { maxLength: 253 }),
  baseBackupId: string("Addition: the set the current or last set continues; empty for a full set.", { maxLength: 253 }),
  fullBackupToken: string(
    "Addition: the value of the kafka.oso.sh/full-backup annotation last acted on; a new value makes the next scheduled set full.",
    { maxLength: 253 },
  ),
  retryToken: string(
    "Addition: the value of the kafka.oso.sh/retry annotation last acted on; a new value resumes a failed one-shot backup.",
    { maxLength: 253 },
  ),
  retryCount: count("Addition: retries of the current one-shot backup under spec.retryPolicy."),
  nextRetryTime: dateTime("Addition: when spec.retryPolicy retries the failed one-shot backup."),
  lastSuccessfulBackupId: string("Addition: ID of the newest completed backup set.", { maxLength: 253 }),
  startTime: dateTime("Addition: when the current or last run started."),
  completionTime: dateTime("Addition: when the last run ended."),
  lastBackupTime: dateTime("When the last backup completed."),
  lastScheduleTime: dateTime("The schedule tick the last run was started for (written before the run starts)."),
  nextScheduledBackup: dateTime("The next schedule tick."),
  recordsProcessed: count(
    "Records backed up by the current or last run (a finished run that resumed its set counts the whole set).",
  ),
  bytesProcessed: count("Bytes backed up by the current or last run."),
  segmentsCompleted: count(
    "Segments durably written by the current or last run (a finished run that resumed its set counts the whole set).",
  ),
  progressPercent: percent("Addition: progress of a run towards the high-watermarks captured at its start (0-100)."),
  etaSeconds: count("Addition: estimated seconds to completion of a one-shot run."),
  throughputRecordsPerSec: rate("Records per second over the last measurement window."),
  throughputBytesPerSec: rate("Bytes per second over the last measurement window."),
  lagRecords: count("Addition: records between what is backed up and the partitions' high-watermarks."),
  topicsSelected: count("Addition: topics the selection resolved to."),
  partitionsTotal: count("Addition: partitions in this run."),
  partitionsCompleted: count("Addition: partitions that reached their stop offset."),
  gapsRecorded: count("Addition: offset ranges lost to log retention before they could be backed up (recorded in the manifest)."),
  checkpointEnabled: boolean("Whether checkpoints are written."),
  lastCheckpointTime: dateTime("When the last checkpoint was written."),
  resumable: boolean("Whether an interrupted run can resume from its checkpoints."),
  lastRetentionTime: dateTime("When retention last ran."),
  retentionInspectedBackups: count("Backup sets of this KafkaBackup that retention looked at."),
  retentionEligibleBackups: count("Backup sets retention selected for deletion."),
  retentionDeletedBackups: count("Backup sets retention deleted."),
  retentionReclaimedBytes: count("Bytes freed (or, in dry run, that would be freed) by retention."),
  retentionDryRun: boolean("Whether the last retention run was a dry run."),
  retentionError: string("Why the last retention run failed (the backup itself still succeeded).", { maxLength: 32768 }),
  job: jobStatus,
});

// ---- KafkaRestore -----------------------------------------------------------------------------

const pitr = named(
  "PitrSpec",
  object(
    "Point-in-time window on record timestamps, inclusive at both ends. Epoch milliseconds take precedence over the RFC 3339 forms.",
    {
      startTimestamp: integer("Restore records with a timestamp at or after this (epoch milliseconds).", { minimum: 0 }),
      endTimestamp: integer("Restore records with a timestamp at or before this (epoch milliseconds).", { minimum: 0 }),
      startTime: dateTime('Restore records with a timestamp at or after this (RFC 3339, e.g. "2025-12-10T00:00:00Z").'),
      endTime: dateTime('Restore records with a timestamp at or before this (RFC 3339, e.g. "2025-12-10T12:00:00Z").'),
    },
    {
      rules: [
        rule(
          "!(has(self.startTimestamp) && has(self.endTimestamp)) || self.startTimestamp < self.endTimestamp",
          "pitr.startTimestamp must be before pitr.endTimestamp",
          { fieldPath: ".startTimestamp" },
        ),
        rule(
          "!(has(self.startTime) && has(self.endTime)) || timestamp(self.startTime) < timestamp(self.endTime)",
          "pitr.startTime must be before pitr.endTime",
          { fieldPath: ".startTime" },
        ),
      ],
    },
  ),
);

const offsetBound = named(
  "OffsetBound",
  object(
    "Offsets to restore for one topic (and optionally one partition), inclusive.",
    {
      topic: topicName("Source topic."),
      partition: int32("Source partition; unset = every partition of the topic.", { minimum: 0 }),
      startOffset: integer("First offset to restore.", { minimum: 0 }),
      endOffset: integer("Last offset to restore.", { minimum: 0 }),
    },
    {
      required: ["topic"],
      rules: [
        rule(
          "!(has(self.startOffset) && has(self.endOffset)) || self.startOffset <= self.endOffset",
          "offsetBounds: startOffset must not be after endOffset",
          { fieldPath: ".startOffset" },
        ),
      ],
    },
  ),
);

const restoreSpec = named(
  "KafkaRestoreSpec",
  object(
    "Which backup to restore, into which cluster, and how.",
    {
      backupRef: backupRef("The backup to restore: a KafkaBackup by name, or storage given directly."),
      kafkaCluster,
      topics: topicList("Source topics to restore; empty = every topic in the backup.", { default: [] }),
      pitr,
      offsetBounds: array("Addition: restore only these offset ranges (per topic or partition).", offsetBound, {
        maxItems: 1000,
      }),
      topicMapping: map("Source topic -> target topic, e.g. orders: orders-restored.", topicName("Target topic."), {
        default: {},
        maxProperties: 10000,
      }),
      partitionMapping: map(
        "Source partition -> target partition (keys are partition numbers).",
        int32("Target partition.", { minimum: 0 }),
        {
          default: {},
          maxProperties: 1000,
          rules: [rule("self.all(k, k.matches('^[0-9]{1,9}$'))", "partitionMapping keys must be partition numbers")],
        },
      ),
      repartitioning: map(
        "Target topic -> repartitioning: records are spread over targetPartitions with Kafka's murmur2 key partitioner.",
        named(
          "RepartitioningSpec",
          object(
            "How records of one target topic are spread over its partitions.",
            {
              strategy: string("murmur2 (the Java client's default partitioner) or automatic.", {
                default: "murmur2",
                enum: ["murmur2", "automatic"],
              }),
              targetPartitions: int32("Partition count of the target topic.", { minimum: 1, maximum: 100000 }),
            },
            { required: ["targetPartitions"] },
          ),
        ),
        { default: {}, maxProperties: 10000 },
      ),
      offsetReset: named(
        "RestoreOffsetResetSpec",
        object(
          "Translate and commit the offsets of these consumer groups after the restore.",
          {
            enabled: boolean("Reset the groups' offsets after the restore.", { default: false }),
            consumerGroups: groupList("Consumer groups whose offsets are translated."),
            strategy: string(
              "How offsets are translated: manual (report only), auto/header-based (from the original offsets), timestamp, cluster-scan.",
              { default: "manual", maxLength: 64, pattern: "^[A-Za-z_-]+$" },
            ),
          },
          { required: ["consumerGroups"] },
        ),
      ),
      rollback: named(
        "RestoreRollbackSpec",
        object("Snapshot the target's consumer-group offsets before restoring, to roll back with a KafkaOffsetRollback.", {
          snapshotBeforeRestore: boolean("Take the snapshot.", { default: true }),
          snapshotRetentionHours: int32("Hours the snapshot is kept.", { default: 24, minimum: 1 }),
          autoRollbackOnFailure: boolean("Roll the offsets back automatically when the restore fails.", { default: false }),
          snapshotStorage: pvcPathRef(
            "SnapshotStorageSpec",
            "Keep the snapshot on this PersistentVolumeClaim.",
            "rollback.snapshotStorage",
          ),
        }),
      ),
      rateLimiting,
      circuitBreaker,
      dryRun: boolean(
        "Check everything (backup readable, checksums, target reachable), write the plan to status, and write nothing to Kafka.",
        { default: false },
      ),
      addSourceHeaders: boolean(
        "Addition: add headers kbo-source-topic, kbo-source-partition and kbo-source-offset to every restored record, to trace a record back to the backup or deduplicate downstream. Off by default: restored records carry exactly the headers they were backed up with.",
        { default: false },
      ),
      rustOffsetHeaders: string(
        "Addition: backups made by the Rust engine (KBAK v1) with its default include_offset_headers carry x-original-offset and x-original-timestamp headers (and x-source-cluster) on every record, which the records' producers never wrote. Drop (default) restores the records as produced; Keep restores them with those headers, as the Rust operator did. Backups of this operator are not affected.",
        { default: "Drop", enum: ["Drop", "Keep"] },
      ),
      produceBatchSize: int32(
        "Records per produce request when records are re-batched (a time window, offset bounds or repartitioning cut a stored batch, or an older segment format); stored batches go as they were stored.",
        { default: 1000, minimum: 1, maximum: 1000000 },
      ),
      memoryBudgetMiB: int32("Addition: MiB of record data the run holds in memory at once (segments read, batches in flight).", {
        default: 32,
        minimum: 16,
        maximum: 65536,
      }),
      produceAcks: int32("Producer acks: -1 (all), 0 or 1.", { default: -1, enum: [-1, 0, 1] }),
      produceTimeoutMs: int32("Produce request timeout in milliseconds.", { default: 30000, minimum: 1 }),
      purgeTopics: boolean(
        "Delete existing records of same-named target topics before restoring. Required to restore into a topic of the same name.",
        { default: false },
      ),
      autoConsumerGroups: boolean("Restore the offsets of the consumer groups snapshotted at backup time.", {
        default: false,
      }),
      createTopics: boolean("Create missing target topics with the backed-up partition count and configs.", {
        default: false,
      }),
      defaultReplicationFactor: int32("Replication factor of created topics; -1 or unset = the backed-up one / broker default.", {
        minimum: -1,
        maximum: 32767,
        rules: [rule("self != 0", "defaultReplicationFactor must not be 0")],
      }),
      execution,
    },
    {
      required: ["backupRef", "kafkaCluster"],
      rules: [
        rule(
          "self.dryRun || self.purgeTopics || (size(self.topics) > 0 && self.topics.all(t, t in self.topicMapping && self.topicMapping[t] != t))",
          "topics: restoring into topics of the same name needs purgeTopics: true (or a topicMapping entry to a different name for every listed topic; dryRun only checks)",
          { fieldPath: ".topics" },
        ),
      ],
    },
  ),
);

const restoreStatus = status("KafkaRestoreStatus", "Observed state of the KafkaRestore, written by the controller.", {
  phase: phase("Lifecycle phase.", ["Pending", "Running", "Completed", "Failed", "RolledBack"]),
  backupId: string("Addition: the backup set being restored.", { maxLength: 253 }),
  startTime: dateTime("When the restore started."),
  completionTime: dateTime("When the restore ended."),
  progressPercent: percent("Progress in percent (0-100)."),
  recordsRestored: count("Records written to the target."),
  bytesRestored: count("Bytes written to the target."),
  segmentsProcessed: count("Segments read."),
  recordsTotal: count("Addition: records selected for restore (the plan)."),
  currentTopic: string("Topic being restored now.", { maxLength: 249 }),
  throughputRecordsPerSec: rate("Records per second over the last measurement window."),
  throughputBytesPerSec: rate("Addition: bytes per second over the last measurement window."),
  etaMs: count("Estimated milliseconds to completion."),
  resumable: boolean("Addition: whether an interrupted restore resumes from its checkpoint."),
  lastCheckpointTime: dateTime("Addition: when the last checkpoint was written."),
  retryToken: string(
    "Addition: the value of the kafka.oso.sh/retry annotation this controller last acted on; a new value resumes a failed restore from its checkpoint.",
    { maxLength: 253 },
  ),
  offsetMappingPath: string("Where the offset mapping report (source -> target offsets) is stored.", { maxLength: 4096 }),
  plan: array(
    "Addition: what the restore would do, written by a dryRun (which reads every planned segment to count them): per topic and partition, the records in the window. A restore that runs writes recordsTotal and progress instead.",
    named(
      "RestorePlanTopic",
      object("One topic of the plan.", {
        sourceTopic: string("Topic in the backup.", { maxLength: 249 }),
        targetTopic: string("Topic written to.", { maxLength: 249 }),
        exists: boolean("Whether the target topic exists."),
        records: count("Records selected from this topic."),
        partitions: array(
          "Per source partition.",
          named(
            "RestorePlanPartition",
            object("One partition of the plan.", {
              partition: count("Source partition."),
              targetPartition: integer("Target partition (-1 = by key, repartitioning).", { minimum: -1 }),
              records: count("Records selected."),
              firstOffset: count("First source offset selected."),
              lastOffset: count("Last source offset selected."),
            }),
          ),
        ),
      }),
    ),
  ),
  consumerGroups: array(
    "Addition: consumer groups whose offsets were translated and committed.",
    named(
      "RestoredGroup",
      object("One consumer group.", {
        groupId: string("Group ID.", { maxLength: 255 }),
        committed: boolean("Whether its offsets were committed."),
        partitions: count("Partitions committed."),
        error: string("Why it was not committed (e.g. the group has live members).", { maxLength: 4096 }),
      }),
    ),
  ),
  rollback: named(
    "RestoreRollbackStatus",
    object(
      "The offset snapshot taken before the restore.",
      {
        snapshotId: string("Snapshot ID.", { maxLength: 253 }),
        snapshotTime: dateTime("When it was taken."),
        snapshotPath: string("Where it is stored.", { maxLength: 4096 }),
        rollbackAvailable: boolean("Whether it can still be rolled back to."),
        expiresAt: dateTime("When it is deleted."),
      },
      { required: ["snapshotId", "snapshotTime", "snapshotPath", "rollbackAvailable"] },
    ),
  ),
  job: jobStatus,
});

// ---- KafkaOffsetReset -------------------------------------------------------------------------

const partitionOffset = named(
  "PartitionOffset",
  object("One partition of a group: its offset before and after.", {
    topic: string("Topic.", { maxLength: 249 }),
    partition: count("Partition."),
    previousOffset: integer("Committed offset before (-1 = none).", { minimum: -1 }),
    newOffset: integer("Committed offset after (planned, in a dry run).", { minimum: -1 }),
  }),
);

const groupResult = named(
  "GroupResult",
  object(
    "What happened to one consumer group.",
    {
      groupId: string("Group ID.", { maxLength: 255 }),
      success: boolean("Whether the group's offsets are where they should be."),
      state: string(
        "Addition: Reset, NoOp (already at target), Planned (dry run), ActiveMembers (Kafka refuses: the group has live members) or Failed.",
        {
          enum: ["Reset", "NoOp", "Planned", "ActiveMembers", "Failed"],
        },
      ),
      error: string("Why it failed.", { maxLength: 4096 }),
      message: string("Addition: human-readable detail (the existing operator wrote it and lost it to pruning).", {
        maxLength: 4096,
      }),
      partitionsReset: count("Partitions whose offset changed."),
      partitions: array("Addition: offsets per partition (before and after, or planned).", partitionOffset),
    },
    { required: ["groupId", "success"] },
  ),
);

const resultsRef = string(
  "Addition: configmap/{name} holding every group's offsets (JSON) when status.groupResults is cut short: large runs and large dry runs.",
  { maxLength: 512 },
);

const offsetResetSpec = named(
  "KafkaOffsetResetSpec",
  object(
    "Which consumer groups to move, and where.",
    {
      kafkaCluster,
      consumerGroups: groupList("Consumer groups to reset.", { minItems: 1 }),
      resetStrategy: string(
        "to-earliest, to-latest, to-timestamp (resetTimestamp), to-offset (resetOffset), shift-by (shiftBy, addition) or from-mapping (offsetMappingRef: a restore's offset mapping).",
        { enum: ["to-earliest", "to-latest", "to-timestamp", "to-offset", "shift-by", "from-mapping"] },
      ),
      resetTimestamp: integer("For to-timestamp: epoch milliseconds; each partition goes to the first offset at or after it.", {
        minimum: 0,
      }),
      resetOffset: integer("For to-offset: the offset set on every selected partition.", { minimum: 0 }),
      shiftBy: integer("Addition, for shift-by: add this (negative = rewind) to each committed offset, clamped to the log."),
      topics: topicList("Only these topics; empty = every topic the group has committed offsets for.", { default: [] }),
      partitions: array(
        "Addition: only these partition numbers (of every selected topic); empty = all.",
        int32("A partition.", { minimum: 0 }),
        {
          maxItems: 10000,
        },
      ),
      parallelism: int32("Groups reset concurrently, each through its own coordinator.", {
        default: 50,
        minimum: 1,
        maximum: 1000,
      }),
      dryRun: boolean("Compute the new offsets, show them in status.groupResults, change nothing.", { default: false }),
      continueOnError: boolean("Go on with the other groups when one fails (phase PartiallyCompleted).", {
        default: false,
      }),
      offsetMappingRef: named(
        "OffsetMappingRef",
        object(
          "For from-mapping: where the offset mapping report is. One of restoreName (a KafkaRestore's status.offsetMappingPath), path, or pvcName (+ path).",
          {
            restoreName: resourceName("A KafkaRestore in this namespace whose offset mapping to use."),
            path: string("Path of the mapping report (object key or file; relative to the claim with pvcName).", {
              maxLength: 4096,
            }),
            pvcName: resourceName("PersistentVolumeClaim holding the mapping report (default file offset-mapping.json)."),
          },
          {
            rules: [
              rule(
                "has(self.restoreName) || has(self.path) || has(self.pvcName)",
                "offsetMappingRef needs restoreName, path or pvcName",
              ),
            ],
          },
        ),
      ),
      snapshotBeforeReset: boolean(
        "Store the current offsets before changing them (status.snapshotId), for KafkaOffsetRollback.",
        { default: true },
      ),
      snapshotStorage: named(
        "OffsetSnapshotStorage",
        object(
          "Addition: keep the snapshot in object storage instead of a ConfigMap (named after status.snapshotId, owned by this resource, at most 1 MiB) in this namespace.",
          { storage },
          { required: ["storage"] },
        ),
      ),
    },
    {
      required: ["kafkaCluster", "consumerGroups", "resetStrategy"],
      rules: [
        rule(
          "self.resetStrategy != 'to-timestamp' || has(self.resetTimestamp)",
          "resetTimestamp is required when resetStrategy is to-timestamp",
          { fieldPath: ".resetTimestamp", reason: "FieldValueRequired" },
        ),
        rule(
          "self.resetStrategy != 'to-offset' || has(self.resetOffset)",
          "resetOffset is required when resetStrategy is to-offset",
          {
            fieldPath: ".resetOffset",
            reason: "FieldValueRequired",
          },
        ),
        rule("self.resetStrategy != 'shift-by' || has(self.shiftBy)", "shiftBy is required when resetStrategy is shift-by", {
          fieldPath: ".shiftBy",
          reason: "FieldValueRequired",
        }),
        rule(
          "self.resetStrategy != 'from-mapping' || has(self.offsetMappingRef)",
          "offsetMappingRef is required when resetStrategy is from-mapping",
          { fieldPath: ".offsetMappingRef", reason: "FieldValueRequired" },
        ),
      ],
    },
  ),
);

const offsetResetStatus = status("KafkaOffsetResetStatus", "Observed state of the KafkaOffsetReset, written by the controller.", {
  phase: phase("Lifecycle phase.", ["Pending", "Running", "Completed", "PartiallyCompleted", "Failed"]),
  startTime: dateTime("When the reset started."),
  completionTime: dateTime("When the reset ended."),
  groupsTotal: count("Groups to reset."),
  groupsReset: count("Groups reset (or already at target)."),
  groupsFailed: count("Groups that failed."),
  duration,
  snapshotId: string("ID of the offset snapshot taken before the reset.", { maxLength: 253 }),
  snapshotPath: string("Where the snapshot is stored (object key, or configmap/{name}).", { maxLength: 4096 }),
  groupResults: array("Per consumer group.", groupResult),
  resultsRef,
});

// ---- KafkaOffsetRollback ----------------------------------------------------------------------

const offsetRollbackSpec = named(
  "KafkaOffsetRollbackSpec",
  object(
    "Which offset snapshot to restore, into which cluster.",
    {
      snapshotRef: named(
        "SnapshotRef",
        object(
          "The offset snapshot: by ID (name), by path, or through the KafkaOffsetReset or KafkaRestore that took it.",
          {
            name: string(
              "Snapshot ID, e.g. a KafkaOffsetReset's status.snapshotId; may be empty when path or a reference is given.",
              {
                maxLength: 253,
              },
            ),
            path: string("Path of the snapshot (object key or file; relative to the claim with pvcName).", { maxLength: 4096 }),
            pvcName: resourceName("PersistentVolumeClaim holding the snapshot."),
            restoreRef: resourceName("A KafkaRestore (this namespace) whose pre-restore snapshot to use."),
            offsetResetRef: resourceName("A KafkaOffsetReset (this namespace) whose pre-reset snapshot to use."),
          },
          {
            required: ["name"],
            rules: [
              rule(
                "self.name != '' || has(self.path) || has(self.restoreRef) || has(self.offsetResetRef)",
                "snapshotRef.name, path, restoreRef or offsetResetRef is required",
                { fieldPath: ".name" },
              ),
            ],
          },
        ),
      ),
      kafkaCluster,
      consumerGroups: groupList("Only these groups from the snapshot; empty = every group in it.", { default: [] }),
      dryRun: boolean("Show what would change in status, change nothing.", { default: false }),
      verifyAfterRollback: boolean("Read the offsets back and report mismatches per group and partition.", {
        default: true,
      }),
    },
    { required: ["snapshotRef", "kafkaCluster"] },
  ),
);

const offsetRollbackStatus = status(
  "KafkaOffsetRollbackStatus",
  "Observed state of the KafkaOffsetRollback, written by the controller.",
  {
    phase: phase("Lifecycle phase.", ["Pending", "Running", "Completed", "PartiallyCompleted", "Failed"]),
    startTime: dateTime("When the rollback started."),
    completionTime: dateTime("When the rollback ended."),
    groupsTotal: count("Addition: groups in the rollback."),
    groupsRolledBack: count("Groups rolled back."),
    groupsFailed: count("Groups that failed."),
    verified: boolean("Whether verification found every offset as in the snapshot."),
    duration,
    verification: named(
      "RollbackVerification",
      object(
        "Result of reading the offsets back.",
        {
          allMatched: boolean("Every offset matches the snapshot."),
          totalGroups: count("Groups verified."),
          matchedGroups: count("Groups whose offsets match."),
          mismatchedGroups: array("Groups with a mismatch.", string("Group ID.", { maxLength: 255 })),
          mismatches: array(
            "Addition: each mismatching partition.",
            named(
              "OffsetMismatch",
              object("One partition whose offset differs from the snapshot.", {
                groupId: string("Group ID.", { maxLength: 255 }),
                topic: string("Topic.", { maxLength: 249 }),
                partition: count("Partition."),
                expectedOffset: integer("Offset in the snapshot."),
                actualOffset: integer("Offset committed now (-1 = none)."),
              }),
            ),
          ),
        },
        { required: ["allMatched", "totalGroups", "matchedGroups"] },
      ),
    ),
    groupResults: array("Addition: per consumer group.", groupResult),
    snapshotPath: string("Addition: where the snapshot rolled back to was read from.", { maxLength: 4096 }),
    resultsRef,
  },
);

// ---- KafkaBackupValidation --------------------------------------------------------------------

const secretKeyRef = (typeNameOf: string, what: string) =>
  named(
    typeNameOf,
    object(
      `Secret key holding ${what}.`,
      { name: secretName(what), key: secretKey("Key in the Secret.") },
      { required: ["name", "key"] },
    ),
  );

const checks = named(
  "ValidationChecksSpec",
  object(
    "The checks to run; at least one must be enabled.",
    {
      messageCount: named(
        "MessageCountCheckSpec",
        object("Compare record counts of the backup with its manifest (and the cluster, with kafkaCluster).", {
          enabled: boolean("Run this check.", { default: true }),
          failThreshold: integer("Missing records tolerated before the check fails (unset = 0).", { minimum: 0 }),
          topics: topicList("Only these topics; empty = all."),
        }),
      ),
      offsetRange: named(
        "OffsetRangeCheckSpec",
        object("Check that each partition's offsets are contiguous and within the cluster's low and high watermarks.", {
          enabled: boolean("Run this check.", { default: true }),
        }),
      ),
      consumerGroupOffsets: named(
        "ConsumerGroupCheckSpec",
        object("Check the consumer-group offset snapshot against the backup (needs kafkaCluster).", {
          enabled: boolean("Run this check.", { default: true }),
          consumerGroups: groupList("Only these groups; empty = all."),
        }),
      ),
      deepIntegrity: named(
        "DeepIntegrityCheckSpec",
        object("Addition: read every segment, verify its checksum and decode every record.", {
          enabled: boolean("Run this check.", { default: true }),
        }),
      ),
      customWebhooks: array(
        "HTTP checks: each webhook gets the validation context and passes with expectedStatusCode.",
        named(
          "WebhookCheckSpec",
          object(
            "One webhook check.",
            {
              name: string("Check name, shown in status.checkResults.", { minLength: 1, maxLength: 253 }),
              url: string("URL called with a POST.", { minLength: 1, maxLength: 2048, pattern: "^https?://[^\\s]+$" }),
              timeoutSecs: integer("Timeout in seconds (a timeout fails the check).", {
                default: 120,
                minimum: 1,
                maximum: 3600,
              }),
              expectedStatusCode: int32("HTTP status that means pass.", { default: 200, minimum: 100, maximum: 599 }),
            },
            { required: ["name", "url"] },
          ),
        ),
        { default: [], maxItems: 32 },
      ),
    },
    {
      rules: [
        rule(
          "(has(self.messageCount) && self.messageCount.enabled) || (has(self.offsetRange) && self.offsetRange.enabled) || (has(self.consumerGroupOffsets) && self.consumerGroupOffsets.enabled) || (has(self.deepIntegrity) && self.deepIntegrity.enabled) || (has(self.customWebhooks) && size(self.customWebhooks) > 0)",
          "checks: at least one validation check must be enabled",
        ),
      ],
    },
  ),
);

const validationSpec = named(
  "KafkaBackupValidationSpec",
  object(
    "Which backup to validate, with which checks, and where the evidence goes.",
    {
      backupRef: backupRef("The backup to validate: a KafkaBackup by name, or storage given directly."),
      kafkaCluster: describe(
        kafkaCluster,
        "The cluster to compare against; needed for consumerGroupOffsets and cluster comparisons.",
      ),
      restored: named(
        "RestoredAsSpec",
        object(
          "Addition: kafkaCluster holds a restore of this backup (not its source). Cluster comparisons then count the backup's records per mapped topic inside the window instead of comparing offsets, which a restore renumbers.",
          {
            topicMapping: map(
              "Source topic -> topic in kafkaCluster, as the KafkaRestore's topicMapping.",
              topicName("Target topic."),
              {
                default: {},
                maxProperties: 10000,
              },
            ),
            pitr,
          },
        ),
      ),
      checks,
      evidence: named(
        "EvidenceSpec",
        object(
          "The evidence report (JSON, optionally signed with ECDSA P-256), stored with the backup. It never contains credentials.",
          {
            formats: array(
              "Report formats: json (pdf is accepted and produced as json).",
              string("A format.", { enum: ["json", "pdf", "JSON", "PDF"] }),
              {
                default: ["json"],
                maxItems: 2,
              },
            ),
            signing: named(
              "EvidenceSigningSpec",
              object(
                "Sign the report.",
                {
                  enabled: boolean("Sign the report.", { default: false }),
                  keySecret: named(
                    "SigningKeySecretRef",
                    object(
                      "The Secret holding the ECDSA P-256 key pair (PEM).",
                      {
                        name: secretName("the signing key"),
                        privateKeyKey: secretKey("Key of the private key (PEM).", "signing-key.pem"),
                        publicKeyKey: secretKey("Key of the public key (PEM).", "signing-key-pub.pem"),
                      },
                      { required: ["name"] },
                    ),
                  ),
                },
                { required: ["keySecret"] },
              ),
            ),
            storage: describe(storage, "Where reports go; default: beside the backup."),
            retentionDays: int32("Days a report is kept.", { default: 90, minimum: 1 }),
          },
        ),
      ),
      notifications: named(
        "NotificationsSpec",
        object("Where results are sent.", {
          slack: named(
            "SlackNotificationSpec",
            object(
              "Slack incoming webhook.",
              { webhookSecret: secretKeyRef("SlackWebhookSecretRef", "the Slack webhook URL") },
              {
                required: ["webhookSecret"],
              },
            ),
          ),
          pagerduty: named(
            "PagerDutyNotificationSpec",
            object(
              "PagerDuty Events API v2.",
              {
                routingKeySecret: secretKeyRef("PagerDutyRoutingKeySecretRef", "the PagerDuty routing key"),
                severity: string("Event severity.", { default: "critical", enum: ["critical", "error", "warning", "info"] }),
              },
              { required: ["routingKeySecret"] },
            ),
          ),
        }),
      ),
      schedule: cronSchedule("validation runs"),
      timeZone: timeZone("schedule"),
      suspend: boolean("Suspend scheduled validation.", { default: false }),
    },
    {
      required: ["backupRef", "checks"],
      rules: [
        rule(
          "!(has(self.checks.consumerGroupOffsets) && self.checks.consumerGroupOffsets.enabled) || has(self.kafkaCluster)",
          "kafkaCluster is required when checks.consumerGroupOffsets is enabled",
          { fieldPath: ".kafkaCluster", reason: "FieldValueRequired" },
        ),
      ],
    },
  ),
);

const validationStatus = status(
  "KafkaBackupValidationStatus",
  "Observed state of the KafkaBackupValidation, written by the controller.",
  {
    phase: phase("Lifecycle phase.", ["Pending", "Running", "Completed", "Failed", "Suspended"]),
    validationResult: string("Overall result: Pass, Fail, Warn or Skip.", { enum: ["Pass", "Fail", "Warn", "Skip"] }),
    backupId: string("Addition: the backup set validated.", { maxLength: 253 }),
    startTime: dateTime("When the last run started."),
    completionTime: dateTime("When the last run ended."),
    lastValidationTime: dateTime("When a validation last completed."),
    lastScheduleTime: dateTime("Addition: the schedule tick the last run was started for."),
    nextScheduledValidation: dateTime("The next schedule tick."),
    checksTotal: count("Checks run."),
    checksCompleted: count("Checks finished."),
    checksPassed: count("Checks passed."),
    checksFailed: count("Checks failed."),
    checksWarned: count("Checks with warnings."),
    checkResults: array(
      "Per check.",
      named(
        "CheckResult",
        object(
          "One check's result.",
          {
            checkName: string("Check name.", { maxLength: 253 }),
            outcome: string("Passed, Failed, Warning or Skipped.", { enum: ["Passed", "Failed", "Warning", "Skipped"] }),
            message: string("What was found.", { maxLength: 32768 }),
            durationMs: count("How long it took."),
            details: freeform("Addition: check-specific figures (counts per topic, mismatching partitions); free-form."),
          },
          { required: ["checkName", "outcome"] },
        ),
      ),
    ),
    evidenceReportPath: string("Where the evidence report is stored.", { maxLength: 4096 }),
    evidenceReportSigned: boolean("Whether the report is signed."),
  },
);

// ---- The kinds ----------------------------------------------------------------------------------

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  jsonPath: string;
  description: string;
  priority?: number;
  format?: string;
}

export interface Kind {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: Schema;
  status: Schema;
  printerColumns: PrinterColumn[];
}

const age: PrinterColumn = {
  name: "Age",
  type: "date",
  jsonPath: ".metadata.creationTimestamp",
  description: "Time since creation.",
};
const phaseColumn: PrinterColumn = { name: "Phase", type: "string", jsonPath: ".status.phase", description: "Lifecycle phase." };
const messageColumn: PrinterColumn = {
  name: "Message",
  type: "string",
  jsonPath: ".status.message",
  description: "Summary of the current state.",
  priority: 1,
};

export const kinds: Kind[] = [
  {
    kind: "KafkaBackup",
    plural: "kafkabackups",
    singular: "kafkabackup",
    shortNames: ["kb"],
    description:
      "KafkaBackup backs up Kafka topics to object storage or a volume: once, on a cron schedule, or continuously. Compatible with kafka.oso.sh/v1alpha1 of the existing operator.",
    spec: backupSpec,
    status: backupStatus,
    printerColumns: [
      phaseColumn,
      { name: "Schedule", type: "string", jsonPath: ".spec.schedule", description: "Cron schedule (empty: one-shot)." },
      { name: "Last Backup", type: "date", jsonPath: ".status.lastBackupTime", description: "When the last backup completed." },
      {
        name: "Records",
        type: "integer",
        jsonPath: ".status.recordsProcessed",
        description: "Records in the current or last run.",
      },
      {
        name: "Resumable",
        type: "boolean",
        jsonPath: ".status.resumable",
        description: "Whether an interrupted run can resume.",
      },
      {
        name: "Next Backup",
        type: "date",
        jsonPath: ".status.nextScheduledBackup",
        description: "Next schedule tick.",
        priority: 1,
      },
      {
        name: "Backup ID",
        type: "string",
        jsonPath: ".status.backupId",
        description: "Current or last backup set.",
        priority: 1,
      },
      messageColumn,
      age,
    ],
  },
  {
    kind: "KafkaRestore",
    plural: "kafkarestores",
    singular: "kafkarestore",
    shortNames: ["kr"],
    description:
      "KafkaRestore restores a backup into a Kafka cluster, optionally to a point in time, with topic renaming, repartitioning and consumer-group offsets.",
    spec: restoreSpec,
    status: restoreStatus,
    printerColumns: [
      phaseColumn,
      { name: "Progress", type: "number", jsonPath: ".status.progressPercent", description: "Progress in percent." },
      { name: "Records", type: "integer", jsonPath: ".status.recordsRestored", description: "Records restored." },
      {
        name: "Backup",
        type: "string",
        jsonPath: ".spec.backupRef.name",
        description: "KafkaBackup restored from.",
        priority: 1,
      },
      { name: "Backup ID", type: "string", jsonPath: ".status.backupId", description: "Backup set restored.", priority: 1 },
      { name: "Topic", type: "string", jsonPath: ".status.currentTopic", description: "Topic being restored.", priority: 1 },
      messageColumn,
      age,
    ],
  },
  {
    kind: "KafkaOffsetReset",
    plural: "kafkaoffsetresets",
    singular: "kafkaoffsetreset",
    shortNames: ["kor"],
    description:
      "KafkaOffsetReset moves the committed offsets of consumer groups (earliest, latest, timestamp, offset, shift, or from a restore's mapping).",
    spec: offsetResetSpec,
    status: offsetResetStatus,
    printerColumns: [
      phaseColumn,
      { name: "Strategy", type: "string", jsonPath: ".spec.resetStrategy", description: "Reset strategy." },
      { name: "Groups", type: "integer", jsonPath: ".status.groupsReset", description: "Groups reset." },
      { name: "Failed", type: "integer", jsonPath: ".status.groupsFailed", description: "Groups that failed." },
      { name: "Dry Run", type: "boolean", jsonPath: ".spec.dryRun", description: "Plan only.", priority: 1 },
      messageColumn,
      age,
    ],
  },
  {
    kind: "KafkaOffsetRollback",
    plural: "kafkaoffsetrollbacks",
    singular: "kafkaoffsetrollback",
    shortNames: ["korb"],
    description:
      "KafkaOffsetRollback puts consumer-group offsets back to a snapshot taken before a reset or restore, and verifies them.",
    spec: offsetRollbackSpec,
    status: offsetRollbackStatus,
    printerColumns: [
      phaseColumn,
      { name: "Groups", type: "integer", jsonPath: ".status.groupsRolledBack", description: "Groups rolled back." },
      { name: "Failed", type: "integer", jsonPath: ".status.groupsFailed", description: "Groups that failed." },
      { name: "Verified", type: "boolean", jsonPath: ".status.verified", description: "Offsets read back match the snapshot." },
      messageColumn,
      age,
    ],
  },
  {
    kind: "KafkaBackupValidation",
    plural: "kafkabackupvalidations",
    singular: "kafkabackupvalidation",
    shortNames: ["kbv"],
    description:
      "KafkaBackupValidation checks a backup (counts, offset ranges, consumer-group offsets, segment integrity, webhooks), once or on a schedule, and stores an evidence report.",
    spec: validationSpec,
    status: validationStatus,
    printerColumns: [
      phaseColumn,
      { name: "Result", type: "string", jsonPath: ".status.validationResult", description: "Pass, Fail, Warn or Skip." },
      { name: "Checks", type: "integer", jsonPath: ".status.checksCompleted", description: "Checks completed." },
      { name: "Failed", type: "integer", jsonPath: ".status.checksFailed", description: "Checks failed.", priority: 1 },
      {
        name: "Last Validation",
        type: "date",
        jsonPath: ".status.lastValidationTime",
        description: "When a validation last completed.",
        priority: 1,
      },
      messageColumn,
      age,
    ],
  },
];
