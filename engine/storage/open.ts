// From a CRD storage block to a working backend in one call. createStorageBackend takes the
// spec and the Secret values already read; openStorage reads them too, through the caller's
// SecretReader (the controller runtime's, or the CLI's folder of files).
import { join } from "node:path";
import type { BackendOptions, StorageBackend } from "./backend.ts";
import { resolveStorageCredentials, type SecretReader, type StorageCredentials, type StorageSpec } from "./config.ts";
import { StorageConfigError } from "./errors.ts";
import { FilesystemBackend } from "./filesystem.ts";
import { normalizePrefix } from "./keys.ts";

export interface OpenOptions extends BackendOptions {
  /** Where PVCs are mounted in the operator's pod: a claim is at {pvcMountRoot}/{claimName} (default /data, as the existing operator). */
  pvcMountRoot?: string;
}

const claimName = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * The cloud SDKs load on first use (each adds 30–40 MiB to a process that loads it): a controller
 * whose resources all use S3 never loads Azure's or Google's.
 */
export async function createStorageBackend(
  spec: StorageSpec,
  credentials: StorageCredentials = {},
  options: OpenOptions = {},
): Promise<StorageBackend> {
  const type = spec.storageType ?? "pvc";
  switch (type) {
    case "pvc": {
      if (!spec.pvc) throw new StorageConfigError("pvc", "storageType is pvc but the pvc block is missing");
      const { pvcMountRoot = "/data", ...backendOptions } = options;
      if (!claimName.test(spec.pvc.claimName ?? "")) {
        throw new StorageConfigError(
          "pvc.claimName",
          `${JSON.stringify(spec.pvc.claimName)} is not a PersistentVolumeClaim name`,
        );
      }
      return new FilesystemBackend(
        { root: join(pvcMountRoot, spec.pvc.claimName), prefix: normalizePrefix(spec.pvc.subPath, "pvc.subPath") },
        backendOptions,
      );
    }
    case "s3": {
      if (!spec.s3) throw new StorageConfigError("s3", "storageType is s3 but the s3 block is missing");
      const { S3Backend, s3Settings } = await import("./s3.ts");
      return new S3Backend(s3Settings(spec.s3, credentials.s3), options);
    }
    case "azure": {
      if (!spec.azure) throw new StorageConfigError("azure", "storageType is azure but the azure block is missing");
      const { AzureBackend, azureSettings } = await import("./azure.ts");
      return new AzureBackend(azureSettings(spec.azure, credentials.azure), options);
    }
    case "gcs": {
      if (!spec.gcs) throw new StorageConfigError("gcs", "storageType is gcs but the gcs block is missing");
      const { GcsBackend, gcsSettings } = await import("./gcs.ts");
      return new GcsBackend(gcsSettings(spec.gcs, credentials.gcs), options);
    }
    default:
      throw new StorageConfigError("storageType", `${JSON.stringify(type)} is not one of pvc, s3, azure, gcs`);
  }
}

/** Reads the Secret values the spec names, then creates the backend. */
export async function openStorage(spec: StorageSpec, read: SecretReader, options: OpenOptions = {}): Promise<StorageBackend> {
  return await createStorageBackend(spec, await resolveStorageCredentials(spec, read), options);
}
