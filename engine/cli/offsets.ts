// `kafka-backup offsets reset|snapshot|rollback|show`: consumer-group offsets from a shell. The
// config file is a KafkaOffsetReset or KafkaOffsetRollback spec (a whole custom resource works);
// snapshots go to a file or, with the reset spec's snapshotStorage, to object storage.
import { readFile, writeFile } from "node:fs/promises";
import { type Command, Option } from "commander";
import type { KafkaOffsetResetSpec, KafkaOffsetRollbackSpec } from "../../crds/generated/types.ts";
import { KafkaClient } from "../kafka/client.ts";
import { fetchGroupOffsets, partitionBounds } from "../kafka/groups.ts";
import type { KafkaClusterSpec } from "../kafka/spec.ts";
import { resolveKafkaCluster } from "../kafka/spec.ts";
import { createLogger } from "../log.ts";
import { resetOffsets, resetOptionsFromSpec, rollbackOffsets } from "../offsets/reset.ts";
import { type GroupOutcome, summarize } from "../offsets/results.ts";
import {
  claimFilePath,
  encodeSnapshot,
  loadSnapshotFromFile,
  loadSnapshotFromStorage,
  type OffsetSnapshot,
  saveSnapshotToStorage,
  snapshotIdFor,
  takeOffsetSnapshot,
} from "../offsets/snapshot.ts";
import { parseOffsetMapping } from "../restore/offset-mapping.ts";
import { openStorage } from "../storage/open.ts";
import { CliUsageError, folderSecretReader, loadSpec } from "./spec.ts";

const secretsOption = () =>
  new Option("--secrets-dir <dir>", "Secrets as Kubernetes mounts them: <dir>/<secret>/<key>").default("./secrets");
const pvcRootOption = () =>
  new Option("--pvc-root <dir>", "where PVC storage lives: claim <name> is the folder <dir>/<name>")
    .env("KBO_PVC_ROOT")
    .default("/data");
const list = (v: string) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

interface Common {
  config: string;
  secretsDir: string;
  pvcRoot: string;
  json?: boolean;
  logLevel: string;
}

async function connect(cluster: KafkaClusterSpec | undefined, o: Common): Promise<KafkaClient> {
  if (!cluster?.bootstrapServers?.length) throw new CliUsageError(`${o.config}: kafkaCluster.bootstrapServers is required`);
  const read = folderSecretReader(o.secretsDir);
  return new KafkaClient(
    await resolveKafkaCluster(cluster, read, "kafka-backup-cli"),
    createLogger("kafka-backup", o.logLevel, "stderr"),
  );
}

function printOutcomes(outcomes: GroupOutcome[]): void {
  for (const g of [...outcomes].sort((a, b) => a.groupId.localeCompare(b.groupId))) {
    console.log(`${g.groupId}: ${g.state}${g.error ? ` (${g.error})` : ""}`);
    for (const p of g.offsets) {
      const moved = p.previousOffset === p.newOffset ? "" : `  ${p.previousOffset} -> ${p.newOffset}`;
      console.log(`  ${p.topic}/${p.partition}${moved || `  ${p.newOffset}`}`);
    }
  }
}

export function registerOffsetsCommands(program: Command): void {
  const offsets = program.command("offsets").description("reset, snapshot, roll back and show consumer-group offsets");

  offsets
    .command("reset")
    .description("move consumer groups' committed offsets as a KafkaOffsetReset spec says")
    .addOption(new Option("-c, --config <file>", "a KafkaOffsetReset spec (YAML or JSON)").makeOptionMandatory())
    .addOption(secretsOption())
    .addOption(pvcRootOption())
    .option("--dry-run", "plan and print, change nothing (also spec.dryRun)")
    .option("--mapping <file>", "from-mapping: the restore's offset-mapping.json (else spec.offsetMappingRef path/pvcName)")
    .option("--snapshot-file <file>", "write the snapshot of the previous offsets here (else spec.snapshotStorage)")
    .option("--json", "the result as JSON on stdout")
    .option("--log-level <level>", "engine log level on stderr", "warn")
    .action(async (o: Common & { dryRun?: boolean; mapping?: string; snapshotFile?: string }) => {
      const spec = await loadSpec<KafkaOffsetResetSpec>(o.config);
      if (!spec.consumerGroups?.length) throw new CliUsageError(`${o.config}: consumerGroups is required`);
      const dryRun = Boolean(o.dryRun || spec.dryRun);
      let mapping: ReturnType<typeof parseOffsetMapping> | undefined;
      if (spec.resetStrategy === "from-mapping") {
        const ref = spec.offsetMappingRef ?? {};
        if (!o.mapping && ref.restoreName && !ref.path && !ref.pvcName)
          throw new CliUsageError("offsetMappingRef.restoreName needs the cluster: give the report with --mapping <file>");
        const file = o.mapping ?? claimFilePath(ref, o.pvcRoot, "offset-mapping.json", "offsetMappingRef");
        mapping = parseOffsetMapping(await readFile(file, "utf8"), file);
      }
      const kafka = await connect(spec.kafkaCluster, o);
      try {
        if (!dryRun && (spec.snapshotBeforeReset ?? true)) {
          const snapshot = await takeOffsetSnapshot(kafka, spec.consumerGroups, {
            snapshotId: snapshotIdFor("cli-reset", new Date()),
            takenFor: "kafka-backup offsets reset",
            parallelism: spec.parallelism ?? 50,
          });
          if (o.snapshotFile) {
            await writeFile(o.snapshotFile, encodeSnapshot(snapshot));
            console.error(`previous offsets saved to ${o.snapshotFile}`);
          } else if (spec.snapshotStorage) {
            const store = await openStorage(spec.snapshotStorage.storage, folderSecretReader(o.secretsDir), {
              pvcMountRoot: o.pvcRoot,
            });
            console.error(`previous offsets saved to ${(await saveSnapshotToStorage(store, snapshot)).location}`);
          } else {
            throw new CliUsageError(
              "snapshotBeforeReset: give --snapshot-file or spec.snapshotStorage (or set snapshotBeforeReset: false)",
            );
          }
        }
        const result = await resetOffsets(kafka, { ...resetOptionsFromSpec(spec), dryRun, ...(mapping ? { mapping } : {}) });
        const summary = summarize(result.outcomes, result.total, { dryRun, verb: "reset", stoppedEarly: result.stoppedEarly });
        if (o.json) console.log(JSON.stringify({ ...summary, durationMs: result.durationMs, groups: result.outcomes }));
        else {
          printOutcomes(result.outcomes);
          console.log(`${summary.phase}: ${summary.message} (${(result.durationMs / 1000).toFixed(2)}s)`);
        }
        if (summary.phase !== "Completed") process.exitCode = 1;
      } finally {
        await kafka.close();
      }
    });

  offsets
    .command("snapshot")
    .description("save consumer groups' committed offsets (every topic) to a file or the spec's snapshotStorage")
    .addOption(
      new Option("-c, --config <file>", "a spec with kafkaCluster (and consumerGroups, snapshotStorage)").makeOptionMandatory(),
    )
    .addOption(secretsOption())
    .addOption(pvcRootOption())
    .option("--groups <list>", "comma-separated group ids (default: the spec's consumerGroups)", list)
    .option("--out <file>", "write the snapshot here (else spec.snapshotStorage)")
    .option("--snapshot-id <id>", "snapshot id (default cli-<timestamp>)")
    .option("--json", "print the snapshot's location as JSON")
    .option("--log-level <level>", "engine log level on stderr", "warn")
    .action(async (o: Common & { groups?: string[]; out?: string; snapshotId?: string }) => {
      const spec = await loadSpec<Partial<KafkaOffsetResetSpec>>(o.config);
      const groups = o.groups ?? spec.consumerGroups ?? [];
      if (!groups.length) throw new CliUsageError("no groups: give --groups or consumerGroups in the spec");
      const kafka = await connect(spec.kafkaCluster, o);
      try {
        const snapshot = await takeOffsetSnapshot(kafka, groups, {
          snapshotId: o.snapshotId ?? snapshotIdFor("cli", new Date()),
          takenFor: "kafka-backup offsets snapshot",
        });
        let where: string;
        if (o.out) {
          await writeFile(o.out, encodeSnapshot(snapshot));
          where = o.out;
        } else if (spec.snapshotStorage) {
          const store = await openStorage(spec.snapshotStorage.storage, folderSecretReader(o.secretsDir), {
            pvcMountRoot: o.pvcRoot,
          });
          where = (await saveSnapshotToStorage(store, snapshot)).location;
        } else throw new CliUsageError("give --out <file> or snapshotStorage in the spec");
        const partitions = snapshot.groups.reduce((n, g) => n + g.offsets.length, 0);
        if (o.json)
          console.log(
            JSON.stringify({ snapshotId: snapshot.snapshotId, path: where, groups: snapshot.groups.length, partitions }),
          );
        else
          console.log(
            `snapshot ${snapshot.snapshotId}: ${snapshot.groups.length} groups, ${partitions} partitions, saved to ${where}`,
          );
      } finally {
        await kafka.close();
      }
    });

  offsets
    .command("rollback")
    .description("put a snapshot's offsets back and verify them")
    .addOption(new Option("-c, --config <file>", "a KafkaOffsetRollback spec (YAML or JSON)").makeOptionMandatory())
    .addOption(secretsOption())
    .addOption(pvcRootOption())
    .option(
      "--snapshot <file-or-key>",
      "the snapshot file (else snapshotRef.path/pvcName), or a key/location with --storage-config",
    )
    .option("--storage-config <file>", "a spec whose storage (or snapshotStorage.storage) holds the snapshot")
    .option("--dry-run", "show what differs, change nothing (also spec.dryRun)")
    .option("--json", "the result as JSON on stdout")
    .option("--log-level <level>", "engine log level on stderr", "warn")
    .action(async (o: Common & { snapshot?: string; storageConfig?: string; dryRun?: boolean }) => {
      const spec = await loadSpec<KafkaOffsetRollbackSpec>(o.config);
      let snapshot: OffsetSnapshot;
      if (o.storageConfig) {
        if (!o.snapshot) throw new CliUsageError("--storage-config needs --snapshot <key or location>");
        const s = await loadSpec<{ storage?: unknown; snapshotStorage?: { storage: unknown } }>(o.storageConfig);
        const storage = (s.snapshotStorage?.storage ?? s.storage) as Parameters<typeof openStorage>[0] | undefined;
        if (!storage) throw new CliUsageError(`${o.storageConfig}: no storage or snapshotStorage.storage`);
        const store = await openStorage(storage, folderSecretReader(o.secretsDir), { pvcMountRoot: o.pvcRoot });
        snapshot = await loadSnapshotFromStorage(store, o.snapshot);
      } else {
        const file =
          o.snapshot ??
          claimFilePath(
            spec.snapshotRef ?? { name: "" },
            o.pvcRoot,
            `${spec.snapshotRef?.name || "snapshot"}.json`,
            "snapshotRef",
          );
        snapshot = await loadSnapshotFromFile(file);
      }
      const dryRun = Boolean(o.dryRun || spec.dryRun);
      const kafka = await connect(spec.kafkaCluster, o);
      try {
        const result = await rollbackOffsets(kafka, snapshot, {
          ...(spec.consumerGroups?.length ? { groups: spec.consumerGroups } : {}),
          dryRun,
          verify: spec.verifyAfterRollback ?? true,
        });
        const summary = summarize(result.outcomes, result.total, {
          dryRun,
          verb: "rolled back",
          stoppedEarly: result.stoppedEarly,
        });
        const v = result.verification;
        if (o.json) console.log(JSON.stringify({ ...summary, groups: result.outcomes, verification: v }));
        else {
          printOutcomes(result.outcomes);
          console.log(`${summary.phase}: ${summary.message}`);
          if (v && !v.allMatched) {
            console.log(`verification: ${v.mismatches.length} partitions differ from the snapshot:`);
            for (const m of v.mismatches)
              console.log(`  ${m.groupId} ${m.topic}/${m.partition}: expected ${m.expectedOffset}, committed ${m.actualOffset}`);
          } else if (v) console.log(`verification: all ${v.totalGroups} groups match the snapshot`);
        }
        if (summary.phase !== "Completed" || (!dryRun && v && !v.allMatched)) process.exitCode = 1;
      } finally {
        await kafka.close();
      }
    });

  offsets
    .command("show")
    .description("show consumer groups' committed offsets, log end and lag per partition")
    .addOption(new Option("-c, --config <file>", "a spec with kafkaCluster (and consumerGroups)").makeOptionMandatory())
    .addOption(secretsOption())
    .addOption(pvcRootOption())
    .option("--groups <list>", "comma-separated group ids (default: the spec's consumerGroups)", list)
    .option("--json", "JSON output")
    .option("--log-level <level>", "engine log level on stderr", "warn")
    .action(async (o: Common & { groups?: string[] }) => {
      const spec = await loadSpec<Partial<KafkaOffsetResetSpec>>(o.config);
      const groups = o.groups ?? spec.consumerGroups ?? [];
      if (!groups.length) throw new CliUsageError("no groups: give --groups or consumerGroups in the spec");
      const kafka = await connect(spec.kafkaCluster, o);
      try {
        const out: Array<{
          groupId: string;
          partitions: Array<{ topic: string; partition: number; offset: number; logEnd: number; lag: number }>;
        }> = [];
        const ends = new Map<string, Awaited<ReturnType<typeof partitionBounds>>>();
        for (const groupId of groups) {
          const partitions = [];
          for (const c of await fetchGroupOffsets(kafka, groupId, spec.topics ?? [])) {
            if (!ends.has(c.topic)) ends.set(c.topic, await partitionBounds(kafka, c.topic));
            const logEnd = ends.get(c.topic)?.get(c.partition)?.high ?? -1;
            partitions.push({ ...c, logEnd, lag: logEnd >= 0 ? Math.max(0, logEnd - c.offset) : -1 });
          }
          out.push({ groupId, partitions });
        }
        if (o.json) console.log(JSON.stringify(out));
        else
          for (const g of out) {
            console.log(`${g.groupId}${g.partitions.length ? "" : ": no committed offsets"}`);
            for (const p of g.partitions)
              console.log(`  ${p.topic}/${p.partition}  offset ${p.offset}  end ${p.logEnd}  lag ${p.lag}`);
          }
      } finally {
        await kafka.close();
      }
    });
}
