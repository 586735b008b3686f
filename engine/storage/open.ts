// From a CRD storage block to a working backend in one call. createStorageBackend takes the
// spec and the Secret values already read; openStorage reads them too, through the caller's
// SecretReader (the controller runtime's, or the CLI's folder of files). checkStorage does
// everything openStorage does before loading an SDK: the check of a configuration that is not
// used yet.
import type { BackendOptions, StorageBackend } from "./backend.ts";
import { resolveStorageCredentials, type SecretReader, type StorageCredentials, type StorageSpec } from "./config.ts";
import { FilesystemBackend } from "./filesystem.ts";
import { type StorageSettings, storageSettings } from "./settings.ts";

export interface OpenOptions extends BackendOptions {
  /** Where PVCs are mounted in the operator's pod: a claim is at {pvcMountRoot}/{claimName} (default /data, as the existing operator). */
  pvcMountRoot?: string;
}

/**
 * The cloud SDKs load on first use (each adds 30–40 MiB to a process that loads it): a controller
 * whose resources all use S3 never loads Azure's or Google's.
 */
export async function createStorageBackend(
  spec: StorageSpec,
  credentials: StorageCredentials = {},
  options: OpenOptions = {},
): Promise<StorageBackend> {
  const { pvcMountRoot, ...backendOptions } = options;
  const settings = storageSettings(spec, credentials, pvcMountRoot);
  switch (settings.type) {
    case "pvc":
      return new FilesystemBackend(settings.pvc, backendOptions);
    case "s3": {
      const { S3Backend } = await import("./s3.ts");
      return new S3Backend(settings.s3, backendOptions);
    }
    case "azure": {
      const { AzureBackend } = await import("./azure.ts");
      return new AzureBackend(settings.azure, backendOptions);
    }
    case "gcs": {
      const { GcsBackend } = await import("./gcs.ts");
      return new GcsBackend(settings.gcs, backendOptions);
    }
  }
}

/** Reads the Secret values the spec names, then creates the backend. */
export async function openStorage(spec: StorageSpec, read: SecretReader, options: OpenOptions = {}): Promise<StorageBackend> {
  return await createStorageBackend(spec, await resolveStorageCredentials(spec, read), options);
}

/**
 * Reads the Secret values the spec names and checks every field, loading no SDK and building no
 * client: what openStorage would refuse, this refuses with the same error. Returns the values
 * read, so that the backend can be built from them later (createStorageBackend).
 */
export async function checkStorage(
  spec: StorageSpec,
  read: SecretReader,
  pvcMountRoot?: string,
): Promise<{ settings: StorageSettings; credentials: StorageCredentials }> {
  const credentials = await resolveStorageCredentials(spec, read);
  return { settings: storageSettings(spec, credentials, pvcMountRoot), credentials };
}
