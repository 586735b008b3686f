// Object keys: '/'-separated relative paths, the same on every backend. A key that could mean
// something else on some backend (a path escape on a filesystem, a dot segment that an HTTP
// client normalises away, a control character that breaks XML listings) is refused here,
// before any backend sees it.
import { InvalidKeyError } from "./errors.ts";

/** S3, GCS and Azure all cap object names at 1024 bytes (Azure: characters). */
export const maxKeyBytes = 1024;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const controlCharacter = /[\u0000-\u001f\u007f]/;

/** What is wrong with a key, or undefined when it is valid. */
export function keyProblem(key: string): string | undefined {
  if (key.length === 0) return "is empty";
  if (key.includes("\u0000")) return "contains a NUL character";
  if (controlCharacter.test(key)) return "contains a control character";
  if (key.startsWith("/")) return "starts with '/' (keys are relative)";
  if (Buffer.byteLength(key) > maxKeyBytes) return `is longer than ${maxKeyBytes} bytes`;
  for (const segment of key.split("/")) {
    if (segment === "") return "has an empty segment ('//' or a trailing '/')";
    if (segment === "..") return "has a '..' segment";
    if (segment === ".") return "has a '.' segment";
  }
  return undefined;
}

/** Throws InvalidKeyError naming the key unless it is valid. */
export function validateKey(key: string): string {
  const problem = keyProblem(key);
  if (problem) throw new InvalidKeyError(`invalid storage key ${JSON.stringify(key)}: it ${problem}`, { key });
  return key;
}

/**
 * A backend's configured prefix: '' (none) or a valid key. Trailing slashes are dropped, since
 * users write both `backups` and `backups/`.
 */
export function normalizePrefix(prefix: string | null | undefined, field = "prefix"): string {
  const trimmed = (prefix ?? "").replace(/\/+$/, "");
  if (trimmed === "") return "";
  const problem = keyProblem(trimmed);
  if (problem) throw new InvalidKeyError(`invalid ${field} ${JSON.stringify(prefix)}: it ${problem}`, { key: prefix ?? "" });
  return trimmed;
}

/**
 * A listing prefix: '' (everything), a key, or a key followed by '/'. A prefix need not end at a
 * segment boundary: `topics/a` matches `topics/a/...` and `topics/ab`.
 */
export function validateListPrefix(prefix: string): string {
  if (prefix === "") return prefix;
  const problem = keyProblem(prefix.endsWith("/") ? prefix.slice(0, -1) : prefix);
  if (problem) throw new InvalidKeyError(`invalid listing prefix ${JSON.stringify(prefix)}: it ${problem}`, { key: prefix });
  return prefix;
}

/** The key as the store sees it: the backend's prefix, a '/', the key. */
export function joinKey(prefix: string, key: string): string {
  return prefix === "" ? key : `${prefix}/${key}`;
}

/** The inverse of joinKey for keys a listing returned. */
export function stripPrefix(prefix: string, objectKey: string): string {
  return prefix === "" ? objectKey : objectKey.slice(prefix.length + 1);
}

/** Key order as S3 and GCS list: by UTF-8 bytes. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
