// `kafka-backup worker backup|restore`: one shard of a sharded run, as a pod of the Indexed Job
// the controller creates runs it (issue #13). The spec comes from a file or the KBO_SPEC
// variable (it names Secrets, never holds them), the shard index from JOB_COMPLETION_INDEX, the
// Secrets from the projected volume at --secrets-dir. A failure is reported to the shard's report
// in storage before the process exits, with whether a retry can help; exit code 2 means it cannot
// (the Job's pod failure policy fails the index at once).
import { type Command, Option } from "commander";
import type { KafkaRestoreSpec } from "../../crds/generated/types.ts";
import { planOptions, readChainPlan } from "../backup/chain.ts";
import { optionsFromSpec, runBackup } from "../backup/engine.ts";
import { KafkaClient } from "../kafka/client.ts";
import { resolveKafkaCluster } from "../kafka/spec.ts";
import { createLogger } from "../log.ts";
import { restoreDir, runRestore } from "../restore/restore.ts";
import { restoreOptionsFromSpec } from "../restore/spec.ts";
import { checkShard, type ShardRef } from "../shards/assignment.ts";
import { writeShardReport } from "../shards/report.ts";
import type { StorageBackend } from "../storage/backend.ts";
import type { SecretReader } from "../storage/config.ts";
import { openStorage } from "../storage/open.ts";
import {
  type BackupSpec,
  CliUsageError,
  folderSecretReader,
  loadSpec,
  parseEncryptionKey,
  pvcRootOption,
  secretsDirOption,
} from "./spec.ts";

/** Failures a restarted worker would meet again: bad configuration, corrupt or inconsistent data. */
const permanentReasons = new Set([
  "InvalidArguments",
  "InvalidKafkaConfig",
  "InvalidStorageConfig",
  "SecretNotFound",
  "CorruptSegment",
  "NoTopicsSelected",
  "OffsetBeyondEnd",
  "ShardCountChanged",
  "ShardedContinuous",
  "InvalidShard",
  "TargetTopicsLive",
  "TargetTopicMissing",
  "TargetTopicTooSmall",
  "EncryptionKeyMismatch",
  "DecryptionFailed",
  // The topic the set began with is gone (or another under its name): its ends cannot be reached.
  "TopicRecreated",
  "TopicDeleted",
]);

export const isPermanent = (err: unknown, usage: boolean): boolean =>
  usage || permanentReasons.has((err as { reason?: string }).reason ?? "");

interface WorkerOptions {
  config?: string;
  secretsDir: string;
  pvcRoot: string;
  shards: string;
  shardIndex?: string;
  backupId: string;
  holder?: string;
  logLevel: string;
}

async function workerSpec<T>(opts: WorkerOptions): Promise<T> {
  if (opts.config) return await loadSpec<T>(opts.config);
  const text = process.env.KBO_SPEC;
  if (!text) throw new CliUsageError("give the spec with --config or in the KBO_SPEC environment variable");
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new CliUsageError(`KBO_SPEC: not JSON (${(err as Error).message})`);
  }
}

function shardOf(opts: WorkerOptions): ShardRef {
  const index = opts.shardIndex ?? process.env.JOB_COMPLETION_INDEX;
  if (index === undefined) throw new CliUsageError("--shard-index (or JOB_COMPLETION_INDEX, set by an Indexed Job) is required");
  try {
    return checkShard({ index: Number(index), count: Number(opts.shards) });
  } catch (err) {
    throw new CliUsageError(`--shards / --shard-index: ${(err as Error).message}`);
  }
}

/** Runs one shard's work; a failure goes to the shard's report (when storage is reachable), then up. */
async function asShard(
  shard: ShardRef,
  reportDir: string,
  usage: (err: unknown) => boolean,
  work: (opened: (store: StorageBackend) => void) => Promise<void>,
): Promise<void> {
  let store: StorageBackend | undefined;
  try {
    await work((s) => {
      store = s;
    });
  } catch (err) {
    const permanent = isPermanent(err, usage(err));
    if (store)
      await writeShardReport(store, reportDir, {
        index: shard.index,
        count: shard.count,
        state: "Failed",
        units: 0,
        records: 0,
        bytes: 0,
        percent: 0,
        reason: (err as { reason?: string }).reason ?? "ShardFailed",
        message: (err as Error).message,
        permanent,
      }).catch(() => {});
    if (permanent) throw Object.assign(err as Error, { permanent: true });
    throw err;
  }
}

const common = (command: Command) =>
  command
    .option("-c, --config <file>", "the spec (YAML or JSON; default: the KBO_SPEC environment variable)")
    .addOption(secretsDirOption())
    .addOption(pvcRootOption())
    .requiredOption("--shards <n>", "workers in the run (the Job's completions)")
    .option("--shard-index <i>", "this worker's index (default: JOB_COMPLETION_INDEX)")
    .requiredOption("--backup-id <id>", "the backup set")
    .option("--holder <id>", "lease holder (default: <run>/shard-<index>: a restarted worker of the same index resumes at once)")
    .option("--log-level <level>", "engine log level on stderr", "info");

async function readKey(read: SecretReader, ref: string | undefined, field: string): Promise<Buffer | undefined> {
  if (!ref) return undefined;
  const [secretName, key = "key"] = ref.split("/");
  if (!secretName) throw new CliUsageError(`${field}: give <secret>/<key>`);
  return parseEncryptionKey(await read({ field, secretName, key }), field);
}

export function registerWorkerCommands(program: Command, isUsageError: (err: unknown) => boolean): void {
  const worker = program.command("worker").description("run one shard of a sharded backup or restore (what a Job's pod runs)");
  common(worker.command("backup").description("back up this shard's partitions into the backup set"))
    .addOption(new Option("--encryption-key-secret <secret/key>", "the Secret key holding the backup's encryption key"))
    .action(async (opts: WorkerOptions & { encryptionKeySecret?: string }) => {
      const shard = shardOf(opts);
      await asShard(shard, opts.backupId, isUsageError, async (opened) => {
        const spec = await workerSpec<BackupSpec>(opts);
        await runShard(
          opts,
          shard,
          "backup",
          spec.storage,
          spec.kafkaCluster,
          "spec.encryption.keySecret",
          opened,
          async (run) => {
            // The controller stored the set's chain plan (owner, chain, start offsets) before it made the Job.
            const plan = await readChainPlan(run.store, opts.backupId);
            return await runBackup(run.kafka, run.store, {
              backupId: opts.backupId,
              ...optionsFromSpec(spec),
              ...(plan ? planOptions(plan) : {}),
              ...(run.encryptionKey ? { encryptionKey: run.encryptionKey } : {}),
              shard,
              leaseHolder: opts.holder ?? `${opts.backupId}/shard-${shard.index}`,
              signal: run.signal,
              log: run.log,
            });
          },
        );
      });
    });
  common(worker.command("restore").description("restore this shard's partitions of the backup set"))
    .requiredOption("--restore-id <id>", "the restore's id (its checkpoint; the same for every shard)")
    .addOption(new Option("--encryption-key-secret <secret/key>", "the Secret key holding the backup's encryption key"))
    .action(async (opts: WorkerOptions & { restoreId: string; encryptionKeySecret?: string }) => {
      const shard = shardOf(opts);
      await asShard(shard, restoreDir(opts.backupId, opts.restoreId), isUsageError, async (opened) => {
        const spec = await workerSpec<KafkaRestoreSpec>(opts);
        if (!spec.backupRef?.storage)
          throw new CliUsageError("backupRef.storage: a worker reads the backup from storage given directly");
        await runShard(
          opts,
          shard,
          "restore",
          spec.backupRef.storage,
          spec.kafkaCluster,
          "backup encryption.keySecret",
          opened,
          (run) =>
            runRestore(run.kafka, run.store, {
              ...restoreOptionsFromSpec(spec),
              backupId: opts.backupId,
              restoreId: opts.restoreId,
              ...(run.encryptionKey ? { encryptionKey: run.encryptionKey } : {}),
              shard,
              leaseHolder: opts.holder ?? `${opts.restoreId}/shard-${shard.index}`,
              signal: run.signal,
              log: run.log,
            }),
        );
      });
    });
}

interface ShardRun {
  kafka: KafkaClient;
  store: StorageBackend;
  encryptionKey?: Buffer;
  signal: AbortSignal;
  log: ReturnType<typeof createLogger>;
}

/** What both workers do around their engine call: storage, key, Kafka client, SIGTERM, the result line. */
async function runShard(
  opts: WorkerOptions & { encryptionKeySecret?: string },
  shard: ShardRef,
  operation: "backup" | "restore",
  storage: Parameters<typeof openStorage>[0],
  cluster: Parameters<typeof resolveKafkaCluster>[0],
  keyField: string,
  opened: (store: StorageBackend) => void,
  run: (r: ShardRun) => Promise<{ cancelled?: boolean }>,
): Promise<void> {
  const read = folderSecretReader(opts.secretsDir);
  const log = createLogger("kafka-backup-worker", opts.logLevel, "stderr").child({ shard: shard.index });
  const store = await openStorage(storage, read, { logger: log, pvcMountRoot: opts.pvcRoot });
  opened(store);
  const encryptionKey = await readKey(read, opts.encryptionKeySecret, keyField);
  const kafka = new KafkaClient(await resolveKafkaCluster(cluster, read, `kafka-${operation}-worker-${shard.index}`), log);
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once("SIGTERM", onSignal);
  try {
    const result = await run({ kafka, store, ...(encryptionKey ? { encryptionKey } : {}), signal: controller.signal, log });
    console.log(JSON.stringify(result));
    if (result.cancelled) process.exitCode = 130;
  } finally {
    process.off("SIGTERM", onSignal);
    await kafka.close();
  }
}
