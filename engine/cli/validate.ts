// `kafka-backup validate` and `kafka-backup verify`: a KafkaBackupValidation spec run from a
// shell (its backupRef.storage names the backup's storage), and the check of a signed evidence
// report with the signer's public key. Exit codes: 0 Pass or Warn (verify: valid); 1 Fail
// (verify: invalid); 2 bad arguments or configuration.
import { readFile, writeFile } from "node:fs/promises";
import { type Command, Option } from "commander";
import type { KafkaBackupValidationSpec } from "../../crds/generated/types.ts";
import { chooseSet, readSets } from "../backupset/sets.ts";
import { KafkaClient } from "../kafka/client.ts";
import { resolveKafkaCluster } from "../kafka/spec.ts";
import { createLogger } from "../log.ts";
import { openStorage } from "../storage/open.ts";
import { EvidenceError, parsePrivateKey, parsePublicKey, verifyEvidence } from "../validation/evidence.ts";
import { runValidation, storeEvidence } from "../validation/run.ts";
import { checkSpec, restoredFromSpec, ValidationSpecError } from "../validation/spec.ts";
import { CliUsageError, folderSecretReader, loadSpec, parseEncryptionKey, pvcRootOption, secretsDirOption } from "./spec.ts";

export function registerValidationCommands(program: Command): void {
  program
    .command("validate")
    .description("validate a backup set (a KafkaBackupValidation spec) and store its evidence report beside it")
    .addOption(
      new Option(
        "-c, --config <file>",
        "a KafkaBackupValidation spec (YAML or JSON) with backupRef.storage",
      ).makeOptionMandatory(),
    )
    .addOption(secretsDirOption())
    .addOption(pvcRootOption())
    .option("--backup-id <id>", "the backup set (default: backupRef.backupId, else the newest)")
    .option("--name <name>", "the validation's name in the report and the evidence folder", "cli")
    .option("--signing-key <file>", "sign the report with this ECDSA P-256 private key (PEM); default: spec.evidence.signing")
    .option("--encryption-key-file <file>", "the 32-byte key (base64 or hex) of an encrypted backup")
    .option("--no-store", "do not store the evidence report with the backup")
    .option("--out <file>", "also write the report (canonical JSON) to this file")
    .option("--json", "the report as JSON on stdout")
    .option("--log-level <level>", "engine log level on stderr", "warn")
    .action(
      async (opts: {
        config: string;
        secretsDir: string;
        pvcRoot: string;
        backupId?: string;
        name: string;
        signingKey?: string;
        encryptionKeyFile?: string;
        store: boolean;
        out?: string;
        json?: boolean;
        logLevel: string;
      }) => {
        const spec = await loadSpec<KafkaBackupValidationSpec>(opts.config);
        if (!spec.backupRef?.storage)
          throw new CliUsageError("backupRef.storage: the CLI reads the backup from storage given directly");
        if (!spec.checks) throw new CliUsageError("checks: at least one validation check must be enabled");
        try {
          checkSpec(spec);
        } catch (err) {
          if (err instanceof ValidationSpecError) throw new CliUsageError(err.message);
          throw err;
        }
        const read = folderSecretReader(opts.secretsDir);
        const log = createLogger("kafka-backup", opts.logLevel, "stderr");
        const store = await openStorage(spec.backupRef.storage, read, { logger: log, pvcMountRoot: opts.pvcRoot });
        const { backupId, warning } = chooseSet(opts.backupId ?? spec.backupRef.backupId, await readSets(store));
        if (!backupId) throw new CliUsageError(`no complete backup set in ${store.location()}`);
        if (warning) console.error(`kafka-backup: warning: ${warning}`);
        const signing = spec.evidence?.signing;
        let signingKey: ReturnType<typeof parsePrivateKey> | undefined;
        try {
          if (opts.signingKey) signingKey = parsePrivateKey(await readText(opts.signingKey, "--signing-key"), "--signing-key");
          else if (signing?.enabled) {
            const field = "evidence.signing.keySecret";
            const pem = await read({
              field,
              secretName: signing.keySecret.name,
              key: signing.keySecret.privateKeyKey ?? "signing-key.pem",
            });
            signingKey = parsePrivateKey(pem, field);
          }
        } catch (err) {
          if (err instanceof EvidenceError) throw new CliUsageError(err.message);
          throw err;
        }
        const encryptionKey = opts.encryptionKeyFile
          ? parseEncryptionKey(await readText(opts.encryptionKeyFile, "--encryption-key-file"), "--encryption-key-file")
          : undefined;
        const kafka = spec.kafkaCluster
          ? new KafkaClient(await resolveKafkaCluster(spec.kafkaCluster, read, "kafka-backup-cli"), log)
          : undefined;
        const restored = restoredFromSpec(spec);
        const controller = new AbortController();
        const onSignal = () => controller.abort(new Error("interrupted"));
        process.once("SIGINT", onSignal);
        process.once("SIGTERM", onSignal);
        try {
          const at = new Date();
          const report = await runValidation(store, {
            backupId,
            checks: spec.checks,
            ...(kafka ? { kafka } : {}),
            ...(restored ? { restored } : {}),
            ...(encryptionKey ? { encryptionKey } : {}),
            validation: { name: opts.name, triggeredBy: "cli" },
            signal: controller.signal,
            log,
          });
          const evidenceStore = spec.evidence?.storage
            ? await openStorage(spec.evidence.storage, read, { logger: log, pvcMountRoot: opts.pvcRoot })
            : store;
          const stored = opts.store
            ? await storeEvidence(evidenceStore, report, { at, ...(signingKey ? { signingKey } : {}) })
            : undefined;
          if (opts.out) {
            const { canonicalJson } = await import("../validation/evidence.ts");
            await writeFile(opts.out, canonicalJson(report));
          }
          if (opts.json) console.log(JSON.stringify(report));
          else {
            console.log(`backup ${backupId}: ${report.result}`);
            for (const c of report.checks) console.log(`  ${c.outcome.padEnd(8)} ${c.checkName}: ${c.message}`);
            if (stored) console.log(`evidence: ${stored.path}${stored.signed ? " (signed)" : ""}`);
          }
          if (report.result === "Fail") process.exitCode = 1;
        } finally {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
          await kafka?.close();
        }
      },
    );

  program
    .command("verify")
    .description("verify a signed evidence report with the signer's public key (a local file, or a key in storage with -c)")
    .argument("<report>", "evidence.json: a file, or with -c its key or location in the backup's storage")
    .requiredOption("--public-key <file>", "the signer's ECDSA P-256 public key (PEM)")
    .option("--signature <file>", "the detached signature (default: <report>.sig beside the report)")
    .option("-c, --config <file>", "read the report from the storage of this spec (KafkaBackupValidation or KafkaBackup)")
    .addOption(secretsDirOption())
    .addOption(pvcRootOption())
    .option("--json", "the verification as JSON on stdout")
    .action(
      async (
        report: string,
        opts: { publicKey: string; signature?: string; config?: string; secretsDir: string; pvcRoot: string; json?: boolean },
      ) => {
        let publicKey: ReturnType<typeof parsePublicKey>;
        try {
          publicKey = parsePublicKey(await readText(opts.publicKey, "--public-key"), "--public-key");
        } catch (err) {
          if (err instanceof EvidenceError) throw new CliUsageError(err.message);
          throw err;
        }
        let reportBytes: Buffer;
        let signatureText: string;
        if (opts.config) {
          const spec = await loadSpec<
            { backupRef?: { storage?: KafkaBackupValidationSpec["backupRef"]["storage"] } } & {
              storage?: KafkaBackupValidationSpec["backupRef"]["storage"];
              evidence?: KafkaBackupValidationSpec["evidence"];
            }
          >(opts.config);
          const storageSpec = spec.evidence?.storage ?? spec.backupRef?.storage ?? spec.storage;
          if (!storageSpec)
            throw new CliUsageError(`${opts.config}: no storage (backupRef.storage, evidence.storage or storage)`);
          const store = await openStorage(storageSpec, folderSecretReader(opts.secretsDir), { pvcMountRoot: opts.pvcRoot });
          const root = `${store.location("")}/`;
          const key = report.startsWith(root) ? report.slice(root.length) : report;
          reportBytes = (await store.getBuffer(key)).body;
          signatureText = opts.signature
            ? await readText(opts.signature, "--signature")
            : (await store.getBuffer(`${key}.sig`)).body.toString("utf8");
        } else {
          reportBytes = await readFile(report).catch(() => {
            throw new CliUsageError(`cannot read ${report}`);
          });
          signatureText = await readText(opts.signature ?? `${report}.sig`, "--signature");
        }
        const result = verifyEvidence(reportBytes, signatureText, publicKey);
        if (opts.json) console.log(JSON.stringify({ valid: result.valid, message: result.message }));
        else console.log(`${result.valid ? "VALID" : "INVALID"}: ${result.message}`);
        if (!result.valid) process.exitCode = 1;
      },
    );
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch {
    throw new CliUsageError(`${what}: cannot read ${file}`);
  }
}
