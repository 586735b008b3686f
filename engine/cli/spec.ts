// What the CLI runs: a KafkaBackup spec (the same fields as the custom resource) from a YAML or
// JSON file, with Secrets read from a folder laid out as Kubernetes mounts them
// (`{secretsDir}/{secretName}/{key}`). The same file drives the CLI and, pasted under `spec:`,
// a KafkaBackup.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Option } from "commander";
import { parse as parseYaml } from "yaml";
import type { SecretReader } from "../storage/config.ts";

export type { BackupSpec } from "../backup/spec.ts";

export class CliUsageError extends Error {
  /** The condition reason when a controller meets it (a bad key in a Secret is InvalidEncryptionKey). */
  readonly reason: string;
  override name = "CliUsageError";
  constructor(message: string, reason = "InvalidArguments") {
    super(message);
    this.reason = reason;
  }
}

export async function loadSpec<T>(file: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new CliUsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const doc = parseYaml(text) as { spec?: unknown } | null;
  if (!doc || typeof doc !== "object") throw new CliUsageError(`${file}: not a YAML or JSON object`);
  // A whole custom resource works too: its spec is what counts.
  return (doc.spec ?? doc) as T;
}

export function folderSecretReader(dir: string): SecretReader {
  return async ({ field, secretName, key }) => {
    const file = join(dir, secretName, key);
    try {
      return await readFile(file, "utf8");
    } catch {
      throw new CliUsageError(`${field}: Secret ${secretName} key ${key} not found (looked for ${file}; set --secrets-dir)`);
    }
  };
}

/** A 32-byte key given as base64 or hex. */
export function parseEncryptionKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, "hex") : Buffer.from(trimmed, "base64");
  if (key.length !== 32)
    throw new CliUsageError(
      `${where}: an encryption key is 32 bytes (base64 or 64 hex digits), got ${key.length}`,
      "InvalidEncryptionKey",
    );
  return key;
}

/** The options every storage-reading command takes (main.ts's commands define the same). */
export const secretsDirOption = () =>
  new Option("--secrets-dir <dir>", "Secrets as Kubernetes mounts them: <dir>/<secret>/<key>")
    .env("KBO_SECRETS_DIR")
    .default("./secrets");
export const pvcRootOption = () =>
  new Option("--pvc-root <dir>", "where PVC storage lives: claim <name> is the folder <dir>/<name>")
    .env("KBO_PVC_ROOT")
    .default("/data");
