// Where a KafkaRestore (or anything else naming a backup) reads from: a KafkaBackup by name —
// its storage, its Secrets read in its own namespace, its latest completed backup set or the one
// named — or storage given directly, with the newest backup set under it by default.
import type { KafkaBackupSpec, KafkaBackupStatus } from "../../crds/generated/types.ts";
import { ownedBy } from "../backup/retention.ts";
import { chooseSet, readSets, type SetChoice, type SetInfo, setsOf } from "../backupset/sets.ts";
import { parseEncryptionKey } from "../cli/spec.ts";
import type { SetOwner } from "../format/manifest.ts";
import type { Logger } from "../log.ts";
import type { StorageBackend } from "../storage/backend.ts";
import type { SecretReader, StorageSpec } from "../storage/config.ts";
import { openStorage } from "../storage/open.ts";
import { apiErrorMessage, httpCode, type Kube } from "./client.ts";
import { type Condition, setCondition } from "./conditions.ts";
import type { Context } from "./controller.ts";
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
  /** The reference named a set whose run did not complete: the reader goes on, and says so in a condition. */
  warning?: string;
}

/**
 * The owner a KafkaBackup's sets record: this cluster (CLUSTER_ID, when the operator is given
 * one), the namespace, the name and the uid.
 */
export function setOwnerOf(o: CustomResource): SetOwner {
  const cluster = process.env.CLUSTER_ID;
  return {
    ...(cluster ? { cluster } : {}),
    namespace: o.metadata.namespace,
    name: o.metadata.name,
    ...(o.metadata.uid ? { uid: o.metadata.uid } : {}),
  };
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
  options: { pvcMountRoot: string; logger: Logger; field?: string; pointInTime?: number },
): Promise<BackupSource> {
  const field = options.field ?? "spec.backupRef";
  if (ref.storage) {
    const store = await openStorage(ref.storage, secrets(ownNamespace), options);
    const { backupId, warning } = chooseSet(ref.backupId, await readSets(store), options.pointInTime);
    if (!backupId)
      throw new BackupSourceError("BackupNotFound", `${field}.storage: no complete backup set in ${store.location()}`);
    return { store, backupId, storage: ref.storage, ...(warning ? { warning } : {}) };
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
  const { backupId, warning } = chooseBackupId(setOwnerOf(backup), ref.backupId, await readSets(store), options.pointInTime);
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
    ...(warning ? { warning } : {}),
  };
}

/**
 * The backup set a KafkaBackup reference means now: the given id (with a warning when its run did
 * not complete), else the newest usable set whose manifest names this KafkaBackup — never a
 * failed, cancelled or running one (for a point in time: the oldest such set made at or after it,
 * whose chain holds everything before). Sets written before owners were recorded count by their
 * `{name}-{YYYYMMDD-HHMMSS}` id. Pure.
 */
export function chooseBackupId(
  owner: SetOwner,
  given: string | undefined,
  sets: readonly SetInfo[],
  pointInTime?: number,
): SetChoice {
  if (given) return chooseSet(given, sets);
  return chooseSet(
    undefined,
    setsOf(sets, owner, (id) => ownedBy(owner.name, id)),
    pointInTime,
  );
}

/**
 * The reference named a set whose run did not complete: the work goes on with it, and a
 * `BackupSetComplete=False` condition and a Warning Event say so. Call after the claim.
 */
export async function warnIfIncomplete<Spec, Status extends { conditions?: Condition[] }>(
  ctx: Context<Spec, Status>,
  o: CustomResource<Spec, Status>,
  source: Pick<BackupSource, "warning" | "backupId">,
): Promise<void> {
  if (!source.warning) return;
  const latest = await ctx.resources.get(o.metadata.namespace, o.metadata.name);
  await ctx.resources.patchStatus(latest, {
    conditions: setCondition(
      latest.status?.conditions,
      { type: "BackupSetComplete", status: "False", reason: "IncompleteBackupSet", message: source.warning },
      new Date(),
    ),
  } as Partial<Status>);
  await ctx.events.record(o, "Warning", "IncompleteBackupSet", source.warning);
}
