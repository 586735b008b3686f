// `kafka-backup console -c <config>`: the read-only web console on this machine, over the config's
// storage (the same KafkaBackup spec `list` and `describe` read), no Kubernetes needed. The
// picker's dry runs go to the config's Kafka cluster; an encrypted backup's key comes from the
// config's encryption.keySecret in the Secrets folder and never reaches a page.
import { readFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { type Command, Option } from "commander";
import type { ConsoleLocation } from "../console/location.ts";
import { startConsole } from "../console/server.ts";
import { KafkaClient } from "../kafka/client.ts";
import { resolveKafkaCluster } from "../kafka/spec.ts";
import { createLogger } from "../log.ts";
import { openStorage } from "../storage/open.ts";
import { parsePublicKey } from "../validation/evidence.ts";
import {
  type BackupSpec,
  CliUsageError,
  folderSecretReader,
  loadSpec,
  parseEncryptionKey,
  pvcRootOption,
  secretsDirOption,
} from "./spec.ts";

const loopback = new Set(["127.0.0.1", "::1", "localhost"]);

export function registerConsoleCommand(program: Command): void {
  program
    .command("console")
    .description("serve the read-only web console (catalog, coverage timeline, point-in-time picker) for the spec's storage")
    .addOption(
      new Option(
        "-c, --config <file>",
        "a KafkaBackup spec (YAML or JSON; a whole custom resource works too)",
      ).makeOptionMandatory(),
    )
    .addOption(secretsDirOption())
    .addOption(pvcRootOption())
    .option("--port <port>", "TCP port to listen on", "8090")
    .option("--host <address>", "address to listen on; the console has no login, so keep it on loopback", "127.0.0.1")
    .option("--name <name>", "the location's name on the pages (default: the config file's name)")
    .option("--public-key <file>", "a PEM public key (ECDSA P-256) that verifies the evidence reports' signatures")
    .option("--log-level <level>", "log level on stderr", "warn")
    .action(
      async (opts: {
        config: string;
        secretsDir: string;
        pvcRoot: string;
        port: string;
        host: string;
        name?: string;
        publicKey?: string;
        logLevel: string;
      }) => {
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliUsageError(`--port: "${opts.port}" is not a port`);
        const spec = await loadSpec<BackupSpec>(opts.config);
        if (!spec.storage) throw new CliUsageError(`${opts.config}: no storage block`);
        const read = folderSecretReader(opts.secretsDir);
        const log = createLogger("kafka-backup-console", opts.logLevel, "stderr");
        const store = await openStorage(spec.storage, read, { logger: log, pvcMountRoot: opts.pvcRoot });
        const publicKey = opts.publicKey
          ? parsePublicKey(
              await readFile(opts.publicKey, "utf8").catch((err: Error) => {
                throw new CliUsageError(`--public-key ${opts.publicKey}: ${err.message}`);
              }),
              `--public-key ${opts.publicKey}`,
            )
          : undefined;
        const location: ConsoleLocation = {
          name: opts.name ?? basename(opts.config, extname(opts.config)),
          store,
          backupRef: (backupId) => ({ storage: spec.storage, backupId }),
          kafkaCluster: spec.kafkaCluster,
          openDryRun: async () => {
            const kafka = new KafkaClient(await resolveKafkaCluster(spec.kafkaCluster, read, "kafka-backup-console"), log);
            const keyRef = spec.encryption?.keySecret;
            const encryptionKey = keyRef
              ? parseEncryptionKey(
                  await read({ field: "encryption.keySecret", secretName: keyRef.name, key: keyRef.key ?? "key" }),
                  "encryption.keySecret",
                )
              : undefined;
            return { kafka, ...(encryptionKey ? { encryptionKey } : {}) };
          },
          ...(publicKey ? { publicKeyFor: async () => publicKey } : {}),
          encryptedNote:
            "This set is encrypted: a KafkaRestore that names the storage directly has no key. Name the KafkaBackup in backupRef (its key Secret is used), or give the CLI --encryption-key-file.",
        };
        const running = await startConsole({ locations: async () => [location], host: opts.host, port, log });
        // The URL once the catalog has been read: the first page then answers from it.
        await running.warmed;
        if (!loopback.has(opts.host))
          console.error(`kafka-backup console: warning: listening on ${opts.host}: anyone who can reach it sees the catalog`);
        console.error(`kafka-backup console: ${store.location()} at ${running.url}/ (read-only; Ctrl-C stops it)`);
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off("SIGINT", stop);
            process.off("SIGTERM", stop);
            running.close().then(resolve, resolve);
          };
          process.once("SIGINT", stop);
          process.once("SIGTERM", stop);
        });
      },
    );
}
