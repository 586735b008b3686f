// Where a KafkaRestore (or anything else naming a backup) reads from: a KafkaBackup by name —
// its storage, its Secrets read in its own namespace, its latest completed backup set or the one
// named — or storage given directly, with the newest backup set under it by default.
import type { KafkaBackupSpec, KafkaBackupStatus } from "../../crds/generated/types.ts";
import { ownedBy } from "../backup/retention.ts";
import { listBackupSets } from "../backupset/catalog.ts";
import { parseEncryptionKey } from "../cli/spec.ts";
import type { Logger } from "../log.ts";
import type { StorageBackend } from "../storage/backend.ts";
import type { SecretReader, StorageSpec } from "../storage/config.ts";
import { openStorage } from "../storage/open.ts";
import { apiErrorMessage, httpCode, type Kube } from "./client.ts";
import type { CustomResource } from "./resource.ts";

export interface BackupReference {
  name?: string;
  namespace?: string;
  backupId?: string;
  storage?: StorageSpec;
}

export interface BackupSource {
  store: StorageBackend;
  backupId: string;
  encryptionKey?: Buffer;
  /** "namespace/name" of the KafkaBackup, when the reference named one. */
  kafkaBackup?: string;
  /** Where it lives, as a spec names it (for worker Jobs, which open it themselves). */
  storage: StorageSpec;
  /** The Secret key of the encryption key, when the backup is encrypted. */
  encryptionKeySecret?: { name: string; key: string };
}

export class BackupSourceError extends Error {
  readonly reason: string;
  override name = "BackupSourceError";
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

export async function resolveBackupSource(
  kube: Kube,
  secrets: (namespace: string) => SecretReader,
  ownNamespace: string,
  ref: BackupReference,
  options: { pvcMountRoot: string; logger: Logger; field?: string },
): Promise<BackupSource> {
  const field = options.field ?? "spec.backupRef";
  if (ref.storage) {
    const store = await openStorage(ref.storage, secrets(ownNamespace), options);
    const backupId = ref.backupId || (await listBackupSets(store)).at(-1);
    if (!backupId) throw new BackupSourceError("BackupNotFound", `${field}.storage: no backup set in ${store.location()}`);
    return { store, backupId, storage: ref.storage };
  }
  if (!ref.name) throw new BackupSourceError("InvalidBackupRef", `${field}: give name (a KafkaBackup) or storage`);
  const namespace = ref.namespace || ownNamespace;
  let backup: CustomResource<KafkaBackupSpec, KafkaBackupStatus>;
  try {
    backup = (await kube.objects.getNamespacedCustomObject({
      group: "kafka.oso.sh",
      version: "v1alpha1",
      plural: "kafkabackups",
      namespace,
      name: ref.name,
    })) as CustomResource<KafkaBackupSpec, KafkaBackupStatus>;
  } catch (err) {
    if (httpCode(err) === 404) {
      throw new BackupSourceError("BackupNotFound", `${field}.name: KafkaBackup ${namespace}/${ref.name} not found`);
    }
    throw new BackupSourceError("BackupNotReadable", `KafkaBackup ${namespace}/${ref.name}: ${apiErrorMessage(err)}`);
  }
  // The backup's Secrets live with the backup.
  const read = secrets(namespace);
  const store = await openStorage(backup.spec.storage, read, options);
  const status = backup.status;
  const backupId = chooseBackupId(
    ref.name,
    ref.backupId,
    status,
    ref.backupId || (status?.backupId && status.phase !== "Running") ? [] : await listBackupSets(store),
  );
  if (!backupId) {
    throw new BackupSourceError(
      "BackupNotReady",
      `KafkaBackup ${namespace}/${ref.name} has no completed backup set yet; set ${field}.backupId or wait for its first run`,
    );
  }
  const keyRef = backup.spec.encryption?.keySecret;
  const encryptionKey = keyRef
    ? parseEncryptionKey(
        await read({ field: "spec.encryption.keySecret", secretName: keyRef.name, key: keyRef.key ?? "key" }),
        `KafkaBackup ${namespace}/${ref.name} spec.encryption.keySecret`,
      )
    : undefined;
  return {
    store,
    backupId,
    ...(encryptionKey && keyRef ? { encryptionKey, encryptionKeySecret: { name: keyRef.name, key: keyRef.key ?? "key" } } : {}),
    kafkaBackup: `${namespace}/${ref.name}`,
    storage: backup.spec.storage,
  };
}

/**
 * The backup set a KafkaBackup reference means now: the given id, else the KafkaBackup's last
 * backup unless that one is still being written, else its newest other set in storage. Pure.
 */
export function chooseBackupId(
  name: string,
  given: string | undefined,
  kb: KafkaBackupStatus | undefined,
  sets: readonly string[],
): string | undefined {
  if (given) return given;
  if (kb?.backupId && kb.phase !== "Running") return kb.backupId;
  const owned = sets.filter((id) => ownedBy(name, id) && id !== (kb?.phase === "Running" ? kb.backupId : undefined));
  return owned.sort().at(-1);
}
