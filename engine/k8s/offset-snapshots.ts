// Where offset snapshots and offset mapping reports are found from a resource: ConfigMaps owned by
// the resource that took a snapshot (when it names no object storage), object storage, files on a
// claim; and the resolution of a KafkaOffsetRollback's snapshotRef and a KafkaOffsetReset's
// offsetMappingRef. `persistOffsetSnapshot` is what a reset and a restore call before they change
// any offset.
import { readFile } from "node:fs/promises";
import type {
  KafkaOffsetResetSpec,
  KafkaOffsetResetStatus,
  KafkaRestoreSpec,
  KafkaRestoreStatus,
  OffsetMappingRef,
  SnapshotRef,
} from "../../crds/generated/types.ts";
import type { KafkaClient } from "../kafka/client.ts";
import { type Logger, silentLogger } from "../log.ts";
import {
  claimFilePath,
  encodeSnapshot,
  keyOfLocation,
  loadSnapshotFromFile,
  loadSnapshotFromStorage,
  OffsetReferenceError,
  type OffsetSnapshot,
  OffsetSnapshotError,
  parseSnapshot,
  saveSnapshotToStorage,
  takeOffsetSnapshot,
} from "../offsets/snapshot.ts";
import { type OffsetMappingReport, parseOffsetMapping, readOffsetMapping } from "../restore/offset-mapping.ts";
import type { StorageBackend } from "../storage/backend.ts";
import { resolveBackupSource } from "./backup-source.ts";
import { httpCode, type Kube } from "./client.ts";
import { openSharedStorage } from "./clients.ts";
import type { CustomResource } from "./resource.ts";
import { secretReader } from "./secrets.ts";

/**
 * A ConfigMap holds at most 1 MiB of data (the API server rejects more). A snapshot's JSON is
 * kept below this bound; a larger one fails the reset before any offset changes, with
 * reason SnapshotTooLarge: name object storage (snapshotStorage) for such snapshots.
 */
export const configMapSnapshotLimit = 1_000_000;
export const snapshotDataKey = "snapshot.json";
export const snapshotIdLabel = "kafka.oso.sh/offset-snapshot-id";

const group = "kafka.oso.sh";
const version = "v1alpha1";

/** A DNS-1123 name from `base` (lowercased, invalid characters replaced, at most 253 characters). */
export function configMapName(base: string): string {
  return (
    base
      .toLowerCase()
      .replace(/[^a-z0-9.-]/g, "-")
      .slice(0, 253)
      .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "") || "offsets"
  );
}

/** Creates or replaces a ConfigMap owned by `owner` (deleted with it by Kubernetes' garbage collector). */
export async function writeOwnedConfigMap(
  kube: Kube,
  owner: CustomResource,
  name: string,
  data: Record<string, string>,
  labels: Record<string, string> = {},
): Promise<void> {
  const { namespace, uid } = owner.metadata;
  const body = {
    metadata: {
      name,
      namespace,
      labels: { "app.kubernetes.io/managed-by": "kafka-backup-operator", ...labels },
      ownerReferences: [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid, controller: true }],
    },
    data,
  };
  try {
    await kube.core.createNamespacedConfigMap({ namespace, body });
  } catch (err) {
    if (httpCode(err) !== 409) throw err;
    await kube.core.replaceNamespacedConfigMap({ namespace, name, body });
  }
}

/** Where to keep a snapshot: object storage, or a ConfigMap owned by the resource that takes it. */
export type SnapshotTarget = { store: StorageBackend } | { configMapOwner: CustomResource };

export interface PersistedSnapshot {
  snapshotId: string;
  /** For status: the object's location (s3://…, file://…) or configmap/{name}. */
  path: string;
  snapshot: OffsetSnapshot;
}

/**
 * Reads the groups' committed offsets (every topic, through each group's coordinator, at most
 * `parallelism` groups at once) and stores them durably before anything changes them. The
 * KafkaOffsetReset calls it with snapshotBeforeReset; the KafkaRestore with
 * rollback.snapshotBeforeRestore (target: its snapshot claim or a ConfigMap it owns). Throws
 * OffsetSnapshotError (reason SnapshotFailed or SnapshotTooLarge) when it cannot: the caller then
 * changes nothing.
 */
export async function persistOffsetSnapshot(
  kube: Kube | undefined,
  kafka: KafkaClient,
  groupIds: readonly string[],
  target: SnapshotTarget,
  opts: { snapshotId: string; takenFor?: string; parallelism?: number },
): Promise<PersistedSnapshot> {
  const snapshot = await takeOffsetSnapshot(kafka, groupIds, opts);
  if ("store" in target) {
    const { location } = await saveSnapshotToStorage(target.store, snapshot);
    return { snapshotId: snapshot.snapshotId, path: location, snapshot };
  }
  if (!kube) throw new OffsetSnapshotError("SnapshotFailed", "a ConfigMap snapshot needs the Kubernetes API");
  const text = encodeSnapshot(snapshot);
  const bytes = Buffer.byteLength(text);
  if (bytes > configMapSnapshotLimit) {
    throw new OffsetSnapshotError(
      "SnapshotTooLarge",
      `the offset snapshot of ${groupIds.length} groups is ${bytes} bytes; a ConfigMap holds at most ${configMapSnapshotLimit}: ` +
        "set spec.snapshotStorage to keep it in object storage (nothing was changed)",
    );
  }
  const name = configMapName(snapshot.snapshotId);
  await writeOwnedConfigMap(kube, target.configMapOwner, name, { [snapshotDataKey]: text }, { [snapshotIdLabel]: name });
  return { snapshotId: snapshot.snapshotId, path: `configmap/${name}`, snapshot };
}

export async function loadSnapshotFromConfigMap(kube: Kube, namespace: string, name: string): Promise<OffsetSnapshot> {
  let data: Record<string, string> | undefined;
  try {
    data = (await kube.core.readNamespacedConfigMap({ namespace, name })).data;
  } catch (err) {
    if (httpCode(err) === 404)
      throw new OffsetSnapshotError("SnapshotNotFound", `offset snapshot ConfigMap ${namespace}/${name} not found`);
    throw err;
  }
  const text = data?.[snapshotDataKey];
  if (!text) throw new OffsetSnapshotError("InvalidSnapshot", `ConfigMap ${namespace}/${name} has no ${snapshotDataKey}`);
  return parseSnapshot(text, `ConfigMap ${namespace}/${name}`);
}

const kinds = { kafkaoffsetresets: "KafkaOffsetReset", kafkarestores: "KafkaRestore" } as const;

async function getResource<T>(
  kube: Kube,
  plural: keyof typeof kinds,
  namespace: string,
  name: string,
  field: string,
): Promise<T> {
  try {
    return (await kube.objects.getNamespacedCustomObject({ group, version, plural, namespace, name })) as T;
  } catch (err) {
    if (httpCode(err) === 404)
      throw new OffsetReferenceError(`${field}: ${kinds[plural]} ${namespace}/${name} not found`, "ReferenceNotFound");
    throw err;
  }
}

export interface SourceOptions {
  pvcMountRoot: string;
  logger?: Logger;
}

/**
 * The snapshot a KafkaOffsetRollback names: through the KafkaOffsetReset (offsetResetRef) or
 * KafkaRestore (restoreRef) that took it, a file (path, with pvcName on the claim), or its ID
 * (name: the ConfigMap labelled with it).
 */
export async function loadRollbackSnapshot(
  kube: Kube,
  namespace: string,
  ref: SnapshotRef,
  opts: SourceOptions,
): Promise<{ snapshot: OffsetSnapshot; from: string }> {
  if (ref.offsetResetRef) {
    const reset = await getResource<{ spec: KafkaOffsetResetSpec; status?: KafkaOffsetResetStatus }>(
      kube,
      "kafkaoffsetresets",
      namespace,
      ref.offsetResetRef,
      "spec.snapshotRef.offsetResetRef",
    );
    const path = reset.status?.snapshotPath;
    if (!path)
      throw new OffsetSnapshotError(
        "SnapshotNotFound",
        `spec.snapshotRef.offsetResetRef: KafkaOffsetReset ${namespace}/${ref.offsetResetRef} has no snapshot (status.snapshotPath)`,
      );
    if (path.startsWith("configmap/"))
      return { snapshot: await loadSnapshotFromConfigMap(kube, namespace, path.slice("configmap/".length)), from: path };
    const storage = reset.spec.snapshotStorage?.storage;
    if (!storage) throw new OffsetSnapshotError("SnapshotNotFound", `${path}: the KafkaOffsetReset names no snapshotStorage`);
    const store = await openSharedStorage(storage, secretReader(kube, namespace), {
      pvcMountRoot: opts.pvcMountRoot,
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    return { snapshot: await loadSnapshotFromStorage(store, path), from: path };
  }
  if (ref.restoreRef) {
    const restore = await getResource<{ spec: KafkaRestoreSpec; status?: KafkaRestoreStatus }>(
      kube,
      "kafkarestores",
      namespace,
      ref.restoreRef,
      "spec.snapshotRef.restoreRef",
    );
    const path = restore.status?.rollback?.snapshotPath;
    if (!path)
      throw new OffsetSnapshotError(
        "SnapshotNotFound",
        `spec.snapshotRef.restoreRef: KafkaRestore ${namespace}/${ref.restoreRef} has no snapshot (status.rollback.snapshotPath)`,
      );
    if (path.startsWith("configmap/"))
      return { snapshot: await loadSnapshotFromConfigMap(kube, namespace, path.slice("configmap/".length)), from: path };
    if (!path.includes("://")) return { snapshot: await loadSnapshotFromFile(path), from: path };
    const claim = restore.spec.rollback?.snapshotStorage;
    const store = claim
      ? await openSharedStorage(
          { storageType: "pvc", pvc: { claimName: claim.pvcName, ...(claim.subPath ? { subPath: claim.subPath } : {}) } },
          secretReader(kube, namespace),
          { pvcMountRoot: opts.pvcMountRoot },
        )
      : await restoreStorage(kube, namespace, restore.spec.backupRef, opts, "KafkaRestore spec.backupRef");
    return { snapshot: await loadSnapshotFromStorage(store, path), from: path };
  }
  if (ref.path || ref.pvcName) {
    const file = claimFilePath(ref, opts.pvcMountRoot, `${ref.name || "snapshot"}.json`, "spec.snapshotRef");
    return { snapshot: await loadSnapshotFromFile(file), from: file };
  }
  const name = configMapName(ref.name);
  const listed = await kube.core.listNamespacedConfigMap({ namespace, labelSelector: `${snapshotIdLabel}=${name}` });
  const found = listed.items[0]?.metadata?.name ?? name;
  return { snapshot: await loadSnapshotFromConfigMap(kube, namespace, found), from: `configmap/${found}` };
}

/**
 * The offset mapping report a from-mapping reset names: a KafkaRestore's status.offsetMappingPath
 * (opened in that restore's storage, resolved through its backupRef), or a file (path; with
 * pvcName relative to the claim, default offset-mapping.json).
 */
export async function loadOffsetMappingRef(
  kube: Kube | undefined,
  namespace: string,
  ref: OffsetMappingRef,
  opts: SourceOptions,
): Promise<{ report: OffsetMappingReport; from: string }> {
  if (ref.restoreName) {
    if (!kube) throw new OffsetReferenceError("offsetMappingRef.restoreName needs the Kubernetes API");
    const restore = await getResource<{ spec: KafkaRestoreSpec; status?: KafkaRestoreStatus }>(
      kube,
      "kafkarestores",
      namespace,
      ref.restoreName,
      "spec.offsetMappingRef.restoreName",
    );
    const path = restore.status?.offsetMappingPath;
    if (!path) {
      throw new OffsetReferenceError(
        `spec.offsetMappingRef.restoreName: KafkaRestore ${namespace}/${ref.restoreName} has no offset mapping yet (status.offsetMappingPath)`,
        "OffsetMappingNotFound",
      );
    }
    if (!path.includes("://")) return { report: parseOffsetMapping(await readText(path), path), from: path };
    const store = await restoreStorage(kube, namespace, restore.spec.backupRef, opts, "KafkaRestore spec.backupRef");
    return { report: await readOffsetMapping(store, keyOfLocation(store, path)), from: path };
  }
  const file = claimFilePath(ref, opts.pvcMountRoot, "offset-mapping.json", "spec.offsetMappingRef");
  return { report: parseOffsetMapping(await readText(file), file), from: file };
}

/** The storage of a KafkaRestore's backup: its backupRef resolved as the restore controller does. */
async function restoreStorage(
  kube: Kube,
  namespace: string,
  ref: KafkaRestoreSpec["backupRef"],
  opts: SourceOptions,
  field: string,
): Promise<StorageBackend> {
  const source = await resolveBackupSource(kube, (ns) => secretReader(kube, ns), namespace, ref, {
    pvcMountRoot: opts.pvcMountRoot,
    logger: opts.logger ?? silentLogger,
    field,
  });
  return source.store;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT")
      throw new OffsetReferenceError(`offset mapping file ${path} not found`, "OffsetMappingNotFound");
    throw err;
  }
}
