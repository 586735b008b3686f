// Where a `backupRef` points: storage given directly, or the storage of a KafkaBackup named by
// the reference (in its namespace, whose Secrets the storage block then names). The KafkaRestore
// controller resolves its source with this, and KafkaOffsetReset's from-mapping and
// KafkaOffsetRollback use it to open a KafkaRestore's storage.
import type { BackupRef, KafkaBackupSpec, KafkaBackupStatus } from "../../crds/generated/types.ts";
import type { Logger } from "../log.ts";
import type { StorageBackend } from "../storage/backend.ts";
import type { StorageSpec } from "../storage/config.ts";
import { openStorage } from "../storage/open.ts";
import { httpCode, type Kube } from "./client.ts";
import { secretReader } from "./secrets.ts";

export class BackupSourceError extends Error {
  readonly reason: string;
  override name = "BackupSourceError";
  constructor(reason: "BackupNotFound" | "InvalidBackupRef", message: string) {
    super(message);
    this.reason = reason;
  }
}

export interface BackupSource {
  storage: StorageSpec;
  /** The namespace whose Secrets the storage block names: the KafkaBackup's, or the referrer's for direct storage. */
  secretsNamespace: string;
  /** backupRef.backupId, else the KafkaBackup's latest backup (status.backupId); undefined = the caller picks (newest set). */
  backupId?: string;
  /** The KafkaBackup, when the reference named one: namespace/name. */
  backup?: string;
}

/** Resolves `ref`, given in a resource of `namespace`; `field` names it in messages (e.g. spec.backupRef). */
export async function resolveBackupSource(
  kube: Kube,
  namespace: string,
  ref: BackupRef,
  field = "spec.backupRef",
): Promise<BackupSource> {
  if (ref.storage) {
    return { storage: ref.storage, secretsNamespace: namespace, ...(ref.backupId ? { backupId: ref.backupId } : {}) };
  }
  if (!ref.name) throw new BackupSourceError("InvalidBackupRef", `${field}: name or storage is required`);
  const backupNamespace = ref.namespace ?? namespace;
  let backup: { spec: KafkaBackupSpec; status?: KafkaBackupStatus };
  try {
    backup = (await kube.objects.getNamespacedCustomObject({
      group: "kafka.oso.sh",
      version: "v1alpha1",
      plural: "kafkabackups",
      namespace: backupNamespace,
      name: ref.name,
    })) as typeof backup;
  } catch (err) {
    if (httpCode(err) === 404)
      throw new BackupSourceError("BackupNotFound", `${field}.name: KafkaBackup ${backupNamespace}/${ref.name} not found`);
    throw err;
  }
  const backupId = ref.backupId ?? backup.status?.backupId;
  return {
    storage: backup.spec.storage as StorageSpec,
    secretsNamespace: backupNamespace,
    backup: `${backupNamespace}/${ref.name}`,
    ...(backupId ? { backupId } : {}),
  };
}

/** The source's storage, opened with the Secrets of its namespace. */
export async function openBackupSource(
  kube: Kube,
  source: BackupSource,
  opts: { pvcMountRoot?: string; logger?: Logger } = {},
): Promise<StorageBackend> {
  return await openStorage(source.storage, secretReader(kube, source.secretsNamespace), {
    pvcMountRoot: opts.pvcMountRoot ?? process.env.PVC_MOUNT_ROOT ?? "/data",
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
}
