// Storage backends shared per distinct configuration (the storage block and the credentials its
// Secrets hold now), kept while used and dropped after 30 s unused (CLIENT_IDLE_SECONDS): long
// enough for a Job followed every 2 s or a burst of reconciles, short enough that 1,000 objects
// checked once each do not keep 1,000 SDK clients (measured: +20 MiB of heap at 10 minutes). A controller polling a
// worker Job every 2 s, or checking many objects that name the same bucket, builds one SDK client,
// not one per reconcile. Secrets are still read on every call, so a rotated key makes a new entry
// (the old one ages out). Keys are hashes: no credential is kept as a map key or logged.
import { createHash } from "node:crypto";
import type { StorageBackend } from "../storage/backend.ts";
import { resolveStorageCredentials, type SecretReader, type StorageCredentials, type StorageSpec } from "../storage/config.ts";
import { createStorageBackend, type OpenOptions } from "../storage/open.ts";

const idleMs = Number(process.env.CLIENT_IDLE_SECONDS ?? 30) * 1000;
const shared = new Map<string, { backend: Promise<StorageBackend>; lastUsed: number }>();
let sweeper: NodeJS.Timeout | undefined;

function sweep(): void {
  const now = Date.now();
  for (const [key, entry] of shared) if (now - entry.lastUsed > idleMs) shared.delete(key);
  if (!shared.size && sweeper) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/** `openStorage`, shared: the same configuration gets the same backend while it is in use. */
export async function openSharedStorage(
  spec: StorageSpec,
  read: SecretReader,
  options: OpenOptions = {},
): Promise<StorageBackend> {
  return await sharedStorage(spec, await resolveStorageCredentials(spec, read), options);
}

/** `createStorageBackend`, shared: for Secret values already read (e.g. by `checkStorage`). */
export async function sharedStorage(
  spec: StorageSpec,
  credentials: StorageCredentials,
  options: OpenOptions = {},
): Promise<StorageBackend> {
  const { logger: _logger, onRetry, ...settings } = options;
  // A backend with its own retry callback belongs to its caller.
  if (onRetry) return await createStorageBackend(spec, credentials, options);
  const key = createHash("sha256").update(JSON.stringify({ spec, credentials, settings })).digest("hex");
  let entry = shared.get(key);
  if (!entry) {
    const backend = createStorageBackend(spec, credentials, options);
    entry = { backend, lastUsed: Date.now() };
    shared.set(key, entry);
    // A configuration that fails (a bad endpoint) is not kept.
    backend.catch(() => shared.delete(key));
    sweeper ??= setInterval(sweep, Math.min(idleMs, 10_000));
    sweeper.unref();
  }
  entry.lastUsed = Date.now();
  return await entry.backend;
}

/** How many backends are shared now (tests). */
export const sharedStorageCount = () => shared.size;
