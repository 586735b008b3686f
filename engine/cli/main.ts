#!/usr/bin/env node
// `kafka-backup`: the engine on its own, for ad-hoc work and for debugging a backup.
// Exit codes: 0 done; 1 failed; 2 bad arguments or configuration, or a worker's failure a restart
// cannot fix; 3 the backup set is locked by another runner; 130 interrupted (the backup stopped
// cleanly and resumes from its checkpoints).
import { Command, Option } from "commander";
import type { KafkaRestoreSpec } from "../../crds/generated/types.ts";
import pkg from "../../package.json" with { type: "json" };
import { optionsFromSpec, runBackup } from "../backup/engine.ts";
import { runBackupId } from "../backup/layout.ts";
import { LeaseHeldError } from "../backup/lease.ts";
import { describeRecreated } from "../backup/topic-changes.ts";
import { readManifest, readSetManifest, summarize } from "../backupset/catalog.ts";
import { coverage } from "../backupset/chain.ts";
import { chooseSet, readSets } from "../backupset/sets.ts";
import { KafkaClient } from "../kafka/client.ts";
import { KafkaConfigError } from "../kafka/errors.ts";
import { resolveKafkaCluster } from "../kafka/spec.ts";
import { createLogger } from "../log.ts";
import { dryRunRestore } from "../restore/dry-run.ts";
import { RestorePlanError } from "../restore/plan.ts";
import { runRestore } from "../restore/restore.ts";
import { describeSourceTopicChange } from "../restore/source-topics.ts";
import { restoreOptionsFromSpec } from "../restore/spec.ts";
import { StorageConfigError } from "../storage/errors.ts";
import { openStorage } from "../storage/open.ts";
import { registerConsoleCommand } from "./console.ts";
import { registerOffsetsCommands } from "./offsets.ts";
import { ProgressLine } from "./progress.ts";
import {
  type BackupSpec,
  CliUsageError,
  folderSecretReader,
  loadSpec,
  parseEncryptionKey,
  pvcRootOption,
  secretsDirOption,
} from "./spec.ts";
import { registerValidationCommands } from "./validate.ts";
import { registerWorkerCommands } from "./worker.ts";

export const exitCodes = { ok: 0, failed: 1, usage: 2, locked: 3, interrupted: 130 } as const;

export const program = new Command("kafka-backup")
  .description("back up Apache Kafka topics to object storage and restore them to any point in time")
  .version(pkg.version)
  .showHelpAfterError();

const specOption = () =>
  new Option("-c, --config <file>", "a KafkaBackup spec (YAML or JSON; a whole custom resource works too)").makeOptionMandatory();
program
  .command("backup")
  .description("back up the spec's topics into a backup set (resumes the set when it exists)")
  .addOption(specOption())
  .addOption(secretsDirOption())
  .addOption(pvcRootOption())
  .option("--backup-id <id>", "the backup set to write (default: <name>-<YYYYMMDD-HHMMSS>)")
  .option("--name <name>", "name for a generated backup id", "backup")
  .option("--holder <id>", "lease holder id; a rerun with the same id resumes at once after a crash", `cli-${process.pid}`)
  .option("--json", "progress as JSON lines on stderr, the result as JSON on stdout")
  .option("--log-level <level>", "engine log level on stderr", "warn")
  .action(
    async (opts: {
      config: string;
      secretsDir: string;
      pvcRoot: string;
      backupId?: string;
      name: string;
      holder: string;
      json?: boolean;
      logLevel: string;
    }) => {
      const spec = await loadSpec<BackupSpec>(opts.config);
      const read = folderSecretReader(opts.secretsDir);
      const log = createLogger("kafka-backup", opts.logLevel, "stderr");
      const store = await openStorage(spec.storage, read, { logger: log, pvcMountRoot: opts.pvcRoot });
      const kafka = new KafkaClient(await resolveKafkaCluster(spec.kafkaCluster, read, "kafka-backup-cli"), log);
      const encryptionKey = spec.encryption
        ? parseEncryptionKey(
            await read({
              field: "encryption.keySecret",
              secretName: spec.encryption.keySecret.name,
              key: spec.encryption.keySecret.key ?? "key",
            }),
            "encryption.keySecret",
          )
        : undefined;
      const controller = new AbortController();
      const onSignal = () => controller.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      const line = new ProgressLine(Boolean(opts.json));
      try {
        const result = await runBackup(kafka, store, {
          backupId: opts.backupId ?? runBackupId(opts.name, new Date()),
          ...optionsFromSpec(spec),
          ...(encryptionKey ? { encryptionKey } : {}),
          leaseHolder: opts.holder,
          signal: controller.signal,
          onProgress: (p) => line.update({ ...p, detail: `lag ${p.lag}` }),
          log,
        });
        line.done();
        if (opts.json) console.log(JSON.stringify(result));
        else {
          console.log(
            `${result.cancelled ? "stopped (resumable)" : "backed up"} ${result.records} records (${(result.bytes / 1e6).toFixed(1)} MB, ` +
              `${result.segments} segments, ${(result.storedBytes / 1e6).toFixed(1)} MB stored) of ${result.topics.length} topics into ` +
              `${store.location(result.backupId)} in ${(result.durationMs / 1000).toFixed(1)}s` +
              (result.gaps ? `; ${result.gaps} retention gaps recorded` : ""),
          );
          if (result.recreatedTopics?.length)
            console.log(
              `the set ended: ${describeRecreated(result.recreatedTopics)} deleted and created again; back the new topic up into a new backup set (another --backup-id)`,
            );
        }
        if (result.cancelled) process.exitCode = exitCodes.interrupted;
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        await kafka.close();
      }
    },
  );

program
  .command("restore")
  .description("restore a backup set into Kafka (a rerun with the same --restore-id resumes without duplicates)")
  .addOption(new Option("-c, --config <file>", "a KafkaRestore spec (YAML or JSON) with backupRef.storage").makeOptionMandatory())
  .addOption(secretsDirOption())
  .addOption(pvcRootOption())
  .option("--backup-id <id>", "the backup set (default: backupRef.backupId, else the newest)")
  .option("--restore-id <id>", "names the restore's checkpoint; rerun with the same id to resume (required unless --dry-run)")
  .option("--dry-run", "check the backup, its segments and the target, print the plan, write nothing (also spec.dryRun)")
  .option("--encryption-key-file <file>", "the 32-byte key (base64 or hex) of an encrypted backup")
  .option("--json", "the result as JSON on stdout")
  .option("--log-level <level>", "engine log level on stderr", "warn")
  .action(
    async (opts: {
      config: string;
      secretsDir: string;
      pvcRoot: string;
      backupId?: string;
      restoreId?: string;
      dryRun?: boolean;
      encryptionKeyFile?: string;
      json?: boolean;
      logLevel: string;
    }) => {
      const spec = await loadSpec<KafkaRestoreSpec>(opts.config);
      if (!spec.backupRef?.storage)
        throw new CliUsageError("backupRef.storage: the CLI reads the backup from storage given directly");
      const dryRun = opts.dryRun || spec.dryRun;
      if (!dryRun && !opts.restoreId) throw new CliUsageError("--restore-id is required (unless --dry-run)");
      const read = folderSecretReader(opts.secretsDir);
      const log = createLogger("kafka-backup", opts.logLevel, "stderr");
      const store = await openStorage(spec.backupRef.storage, read, { logger: log, pvcMountRoot: opts.pvcRoot });
      const { backupId, warning } = chooseSet(opts.backupId ?? spec.backupRef.backupId, await readSets(store));
      if (!backupId) throw new CliUsageError(`no complete backup set in ${store.location()}`);
      if (warning) console.error(`kafka-backup: warning: ${warning}`);
      const kafka = new KafkaClient(await resolveKafkaCluster(spec.kafkaCluster, read, "kafka-backup-cli"), log);
      const { readFile } = await import("node:fs/promises");
      const encryptionKey = opts.encryptionKeyFile
        ? parseEncryptionKey(await readFile(opts.encryptionKeyFile, "utf8"), "--encryption-key-file")
        : undefined;
      const options = restoreOptionsFromSpec(spec);
      const controller = new AbortController();
      const onSignal = () => controller.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      const progress = new ProgressLine(Boolean(opts.json));
      try {
        if (dryRun) {
          const plan = await dryRunRestore(kafka, store, {
            ...options,
            backupId,
            ...(encryptionKey ? { encryptionKey } : {}),
            signal: controller.signal,
          });
          if (opts.json) console.log(JSON.stringify(plan));
          else {
            console.log(`dry run of backup ${backupId}: ${plan.recordsTotal} records, ${plan.segmentsChecked} segments checked`);
            for (const t of plan.topics) {
              console.log(`  ${t.sourceTopic} -> ${t.targetTopic}${t.exists ? " (exists)" : ""}: ${t.records} records`);
            }
            for (const problem of plan.problems) console.log(`  problem: ${problem}`);
          }
          if (plan.problems.length) process.exitCode = exitCodes.failed;
          return;
        }
        const result = await runRestore(kafka, store, {
          ...options,
          backupId,
          restoreId: opts.restoreId as string,
          ...(encryptionKey ? { encryptionKey } : {}),
          signal: controller.signal,
          log,
          onProgress: (p) =>
            progress.update({
              percent: p.percent,
              records: p.recordsRestored,
              bytes: p.bytesRestored,
              recordsPerSec: p.recordsPerSec,
              bytesPerSec: p.bytesPerSec,
              ...(p.etaMs !== undefined ? { etaSeconds: p.etaMs / 1000 } : {}),
              ...(p.currentTopic ? { detail: p.currentTopic } : {}),
            }),
        });
        progress.done();
        if (opts.json) console.log(JSON.stringify(result));
        else {
          console.log(
            `${result.cancelled ? "stopped (resumable)" : "restored"} ${result.records} records of backup ${backupId} into ${result.targetTopics.join(", ")} in ${(result.durationMs / 1000).toFixed(1)}s` +
              (result.skippedAsAlreadyRestored ? ` (${result.skippedAsAlreadyRestored} were already restored)` : ""),
          );
          for (const g of result.consumerGroups) {
            console.log(`  group ${g.groupId}: ${g.committed ? "committed" : "not committed"}${g.error ? ` (${g.error})` : ""}`);
          }
          for (const t of result.sourceTopics ?? []) console.log(`  warning: ${describeSourceTopicChange(t)}`);
          if (result.offsetMappingKey) console.log(`  offset mapping: ${store.location(result.offsetMappingKey)}`);
        }
        if (result.cancelled) process.exitCode = exitCodes.interrupted;
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        await kafka.close();
      }
    },
  );

program
  .command("list")
  .description("list the backup sets in the spec's storage: state, owner and chain of each")
  .addOption(specOption())
  .addOption(secretsDirOption())
  .addOption(pvcRootOption())
  .option("--json", "JSON output")
  .action(async (opts: { config: string; secretsDir: string; pvcRoot: string; json?: boolean }) => {
    const spec = await loadSpec<BackupSpec>(opts.config);
    const store = await openStorage(spec.storage, folderSecretReader(opts.secretsDir), { pvcMountRoot: opts.pvcRoot });
    const sets = await readSets(store, (id, err) => console.error(`kafka-backup: ${id}: unreadable manifest: ${err.message}`));
    const summaries = sets.map((s) => ({ ...summarize(s.manifest), usable: s.usable }));
    if (opts.json) {
      console.log(JSON.stringify(summaries));
      return;
    }
    if (!summaries.length) console.log(`no backup sets in ${store.location()}`);
    // Grouped by chain, each chain in order: its full set, then the sets built on it.
    const chainOf = (s: (typeof summaries)[number]) => s.chain?.id ?? s.backupId;
    const chains = new Map<string, typeof summaries>();
    for (const s of summaries) chains.set(chainOf(s), [...(chains.get(chainOf(s)) ?? []), s]);
    for (const [id, members] of chains) {
      if (members.length > 1 || members[0]?.chain) console.log(`chain ${id}:`);
      for (const s of members.sort((a, b) => (a.chain?.sequence ?? 0) - (b.chain?.sequence ?? 0) || a.createdAt - b.createdAt)) {
        const link = s.chain ? (s.chain.base ? `  +${s.chain.sequence} on ${s.chain.base}` : "  full") : "";
        console.log(
          `${s.backupId.padEnd(40)} ${s.state.padEnd(9)} ${new Date(s.updatedAt).toISOString()}  ${String(s.records).padStart(12)} records  ` +
            `${(s.storedBytes / 1e6).toFixed(1).padStart(10)} MB  ${s.topics} topics${s.gaps ? `  ${s.gaps} gaps` : ""}${s.encrypted ? "  encrypted" : ""}` +
            `${s.owner ? `  owner ${s.owner.namespace}/${s.owner.name}` : ""}${link}${s.writer === "kafka-backup-rs" ? "  (Rust engine)" : ""}`,
        );
      }
    }
  });

program
  .command("describe")
  .description(
    "show a backup set: state, owner, chain, and per partition the offsets the chain up to it covers, segments and gaps",
  )
  .argument("<backupId>")
  .addOption(specOption())
  .addOption(secretsDirOption())
  .addOption(pvcRootOption())
  .option("--json", "the set's own manifest and the chain's coverage per partition, as JSON")
  .action(async (backupId: string, opts: { config: string; secretsDir: string; pvcRoot: string; json?: boolean }) => {
    const spec = await loadSpec<BackupSpec>(opts.config);
    const store = await openStorage(spec.storage, folderSecretReader(opts.secretsDir), { pvcMountRoot: opts.pvcRoot });
    const manifest = await readSetManifest(store, backupId);
    // What a restore of this set reads: the chain up to it.
    const view = await readManifest(store, backupId);
    if (opts.json) {
      console.log(JSON.stringify({ manifest, chainSets: view.chainSets ?? [backupId], coverage: coverage(view) }, null, 2));
      return;
    }
    const s = summarize(manifest);
    console.log(`backup ${s.backupId} (${store.location(backupId)}): ${s.state}`);
    console.log(
      `  written by ${manifest.writer}, created ${new Date(s.createdAt).toISOString()}, updated ${new Date(s.updatedAt).toISOString()}`,
    );
    if (manifest.owner) {
      const o = manifest.owner;
      console.log(
        `  owner KafkaBackup ${o.namespace}/${o.name}${o.uid ? ` (uid ${o.uid})` : ""}${o.cluster ? ` in cluster ${o.cluster}` : ""}`,
      );
    }
    if (manifest.chain) {
      console.log(
        manifest.chain.base
          ? `  chain ${manifest.chain.id}, set ${manifest.chain.sequence}, built on ${manifest.chain.base}; a restore reads ${(view.chainSets ?? []).join(" + ")}`
          : `  chain ${manifest.chain.id}: a full set (${manifest.chain.fullReason ?? "new chain"})`,
      );
    }
    console.log(
      `  source cluster ${manifest.sourceClusterId ?? "unknown"}, ${s.records} records in ${s.segments} segments, ${(s.storedBytes / 1e6).toFixed(1)} MB in this set`,
    );
    const own = new Map(manifest.topics.flatMap((t) => t.partitions.map((p) => [`${t.name}/${p.partition}`, p])));
    const byTopic = new Map(view.topics.map((t) => [t.name, t]));
    for (const c of coverage(view)) {
      const t = byTopic.get(c.topic);
      if (t && c.partition === t.partitions[0]?.partition)
        console.log(`  topic ${t.name}: ${t.partitionCount} partitions, replication factor ${t.replicationFactor ?? "?"}`);
      const mine = own.get(`${c.topic}/${c.partition}`);
      const mineRecords = mine?.segments.reduce((n, x) => n + x.recordCount, 0) ?? 0;
      const last = c.to !== undefined ? c.to - 1 : undefined;
      console.log(
        `    ${String(c.partition).padStart(4)}: offsets ${c.from ?? "-"}..${last ?? "-"}, ${c.records} records` +
          (view.chainSets
            ? ` (${mineRecords} in this set), ${mine?.segments.length ?? 0} segments in this set`
            : `, ${mine?.segments.length ?? 0} segments`) +
          (c.to !== undefined ? `, resumes at ${c.to}` : "") +
          (c.gaps.length ? `, gaps ${c.gaps.map((g) => `[${g.start},${g.end}) ${g.reason}`).join(" ")}` : ""),
      );
    }
  });

const isUsageError = (err: unknown) =>
  [CliUsageError, KafkaConfigError, StorageConfigError, RestorePlanError].some((kind) => err instanceof kind);

function exitCodeOf(err: unknown): number {
  if (err instanceof LeaseHeldError) return exitCodes.locked;
  // A worker's failure that a restart cannot fix: the Job's pod failure policy fails its index.
  if (isUsageError(err) || (err as { permanent?: boolean }).permanent) return exitCodes.usage;
  return exitCodes.failed;
}

registerValidationCommands(program);
registerConsoleCommand(program);
registerOffsetsCommands(program);
registerWorkerCommands(program, isUsageError);

await program.parseAsync().catch((err: Error) => {
  console.error(`kafka-backup: ${err.message}`);
  process.exitCode = exitCodeOf(err);
});
