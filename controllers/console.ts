// The console in a cluster: a sixth small program beside the five controllers, and not one of
// them: it reconciles nothing, holds no Lease and writes nothing. On each page it lists the
// KafkaBackups of the namespaces it may read (WATCH_NAMESPACES, or all), opens each one's storage
// with that KafkaBackup's Secrets, and serves the catalog, coverage and point-in-time pages over
// its storage (engine/console/); it also lists the KafkaRestores and KafkaBackupValidations, whose
// status the restores and validations page shows. Its ServiceAccount reads the five kinds and Secrets by name,
// nothing else (infra/controllers.ts, consoleRules).
import type { KeyObject } from "node:crypto";
import type { KafkaBackupSpec, KafkaBackupStatus } from "../crds/generated/types.ts";
import { ownedBy } from "../engine/backup/retention.ts";
import { setsOf } from "../engine/backupset/sets.ts";
import { parseEncryptionKey } from "../engine/cli/spec.ts";
import { type ConsoleLocation, isAvailable, type UnavailableLocation } from "../engine/console/location.ts";
import {
  type ListedRestore,
  type ListedValidation,
  type OperationsView,
  offsetMappingRef,
} from "../engine/console/operations.ts";
import { startConsole } from "../engine/console/server.ts";
import { setOwnerOf } from "../engine/k8s/backup-source.ts";
import { apiErrorMessage, connectKube } from "../engine/k8s/client.ts";
import type { CustomResource } from "../engine/k8s/resource.ts";
import { secretReader } from "../engine/k8s/secrets.ts";
import { KafkaClient } from "../engine/kafka/client.ts";
import { resolveKafkaCluster } from "../engine/kafka/spec.ts";
import { createLogger } from "../engine/log.ts";
import { type OffsetMappingReport, offsetMappingKey, readOffsetMapping } from "../engine/restore/offset-mapping.ts";
import type { StorageBackend } from "../engine/storage/backend.ts";
import { openStorage } from "../engine/storage/open.ts";
import { type EvidenceReport, parsePublicKey } from "../engine/validation/evidence.ts";

type KafkaBackup = CustomResource<KafkaBackupSpec, KafkaBackupStatus>;

const log = createLogger("kafka-backup-console");
const kube = connectKube();
const namespaces = (process.env.WATCH_NAMESPACES ?? "")
  .split(",")
  .map((n) => n.trim())
  .filter(Boolean);
const pvcMountRoot = process.env.PVC_MOUNT_ROOT ?? "/data";
const listEveryMs = 10_000;
const ref = { group: "kafka.oso.sh", version: "v1alpha1", plural: "kafkabackups" };

// ── What it reads ──────────────────────────────────────────────────────────────────────────────

async function list<T>(plural: string): Promise<T[]> {
  const kind = { ...ref, plural };
  const lists = namespaces.length
    ? await Promise.all(namespaces.map((namespace) => kube.objects.listNamespacedCustomObject({ ...kind, namespace })))
    : [await kube.objects.listClusterCustomObject(kind)];
  return lists.flatMap((l) => (l as { items: T[] }).items);
}

const listBackups = () => list<KafkaBackup>(ref.plural);

const byName = (a: { metadata: { namespace?: string; name?: string } }, b: typeof a) =>
  `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`);

/** Listed on every request of the page (two list calls): a restore's progress is what the page is for. */
async function operations(): Promise<OperationsView> {
  const listed = async <T extends ListedRestore | ListedValidation>(plural: string): Promise<T[] | { error: string }> => {
    try {
      return (await list<T>(plural)).sort(byName);
    } catch (err) {
      log.warn({ err: apiErrorMessage(err), plural }, "could not list");
      return { error: apiErrorMessage(err) };
    }
  };
  const [restores, validations] = await Promise.all([
    listed<ListedRestore>("kafkarestores"),
    listed<ListedValidation>("kafkabackupvalidations"),
  ]);
  return { restores, validations, mappings: Array.isArray(restores) ? await offsetMappings(restores) : new Map() };
}

/** Completed restores' reports never change: each is read once (the newest 200 kept). */
const mappingCache = new Map<string, OffsetMappingReport>();

/**
 * The offset mapping report of each completed KafkaRestore that names a KafkaBackup, read from
 * that KafkaBackup's storage (with its Secrets, as the catalog reads it); or why it could not be.
 */
async function offsetMappings(restores: ListedRestore[]): Promise<NonNullable<OperationsView["mappings"]>> {
  const out: NonNullable<OperationsView["mappings"]> = new Map();
  const wanted = restores.filter((r) => r.status?.phase === "Completed" && r.status.offsetMappingPath && r.spec?.backupRef?.name);
  if (!wanted.length) return out;
  const all = await locations().catch(() => []);
  await Promise.all(
    wanted.map(async (r) => {
      const id = `${r.metadata.namespace}/${r.metadata.name}`;
      const path = r.status?.offsetMappingPath as string;
      const cached = mappingCache.get(path);
      if (cached) return void out.set(id, cached);
      const ref = offsetMappingRef(path);
      const backupRef = r.spec?.backupRef;
      const location = all.find((l) => l.name === `${backupRef?.namespace ?? r.metadata.namespace}/${backupRef?.name}`);
      if (!ref || !location || !isAvailable(location)) {
        out.set(id, { error: `${path} is not in the storage of a KafkaBackup this console reads` });
        return;
      }
      try {
        const report = await readOffsetMapping(location.store, offsetMappingKey(ref.backupId, ref.restoreId));
        mappingCache.set(path, report);
        if (mappingCache.size > 200) mappingCache.delete(mappingCache.keys().next().value as string);
        out.set(id, report);
      } catch (err) {
        out.set(id, { error: (err as Error).message });
      }
    }),
  );
  return out;
}

/** A store per KafkaBackup, opened again only when its storage block changes. */
const stores = new Map<string, { storage: string; store: Promise<StorageBackend> }>();

function storeOf(kb: KafkaBackup): Promise<StorageBackend> {
  const key = `${kb.metadata.namespace}/${kb.metadata.name}`;
  const storage = JSON.stringify(kb.spec.storage);
  const hit = stores.get(key);
  if (hit && hit.storage === storage) return hit.store;
  const store = openStorage(kb.spec.storage, secretReader(kube, kb.metadata.namespace), { pvcMountRoot, logger: log });
  stores.set(key, { storage, store });
  store.catch(() => stores.delete(key));
  return store;
}

/**
 * The public key that verifies a report: the public half in the Secret its KafkaBackupValidation
 * names (spec.evidence.signing.keySecret, publicKeyKey), never the private key. Kept a minute.
 */
const publicKeys = new Map<string, { at: number; key: Promise<KeyObject> }>();

function publicKeyFor(report: EvidenceReport): Promise<KeyObject> {
  const { namespace, name } = report.validation ?? {};
  if (!namespace || !name) return Promise.reject(new Error("the report names no KafkaBackupValidation"));
  const id = `${namespace}/${name}`;
  const hit = publicKeys.get(id);
  if (hit && Date.now() - hit.at < 60_000) return hit.key;
  const key = (async () => {
    const kbv = (await kube.objects
      .getNamespacedCustomObject({ ...ref, plural: "kafkabackupvalidations", namespace, name })
      .catch((err: unknown) => {
        throw new Error(`KafkaBackupValidation ${id}: ${apiErrorMessage(err)}`);
      })) as { spec?: { evidence?: { signing?: { keySecret?: { name?: string; publicKeyKey?: string } } } } };
    const secret = kbv.spec?.evidence?.signing?.keySecret;
    if (!secret?.name) throw new Error(`KafkaBackupValidation ${id} names no signing key`);
    const field = "spec.evidence.signing.keySecret.publicKeyKey";
    const pem = await secretReader(
      kube,
      namespace,
    )({ field, secretName: secret.name, key: secret.publicKeyKey ?? "signing-key-pub.pem" });
    return parsePublicKey(pem, `KafkaBackupValidation ${id} ${field} (Secret ${namespace}/${secret.name})`);
  })();
  publicKeys.set(id, { at: Date.now(), key });
  return key;
}

// ── What it shows ──────────────────────────────────────────────────────────────────────────────

async function locationOf(kb: KafkaBackup): Promise<ConsoleLocation> {
  const { namespace, name } = kb.metadata;
  const owner = setOwnerOf(kb);
  const secrets = secretReader(kube, namespace);
  return {
    name: `${namespace}/${name}`,
    namespace,
    store: await storeOf(kb),
    own: (sets) => setsOf(sets, owner, (id) => ownedBy(name, id)),
    status: {
      ...(kb.status?.phase ? { phase: kb.status.phase } : {}),
      ...(kb.status?.lastBackupTime ? { lastBackupTime: kb.status.lastBackupTime } : {}),
      ...(kb.status?.nextScheduledBackup ? { nextScheduledBackup: kb.status.nextScheduledBackup } : {}),
      ...(kb.status?.lastSuccessfulBackupId ? { lastSuccessfulBackupId: kb.status.lastSuccessfulBackupId } : {}),
      ...(kb.spec.schedule ? { schedule: kb.spec.schedule } : {}),
      ...(kb.spec.suspend ? { suspended: true } : {}),
    },
    // A KafkaRestore names the KafkaBackup: the restore controller reads its storage, Secrets and key.
    backupRef: (backupId) => ({ name, namespace, backupId }),
    kafkaCluster: kb.spec.kafkaCluster,
    publicKeyFor,
    openDryRun: async () => {
      const kafka = new KafkaClient(await resolveKafkaCluster(kb.spec.kafkaCluster, secrets, "kafka-backup-console"), log);
      const keyRef = kb.spec.encryption?.keySecret;
      const encryptionKey = keyRef
        ? parseEncryptionKey(
            await secrets({ field: "spec.encryption.keySecret", secretName: keyRef.name, key: keyRef.key ?? "key" }),
            `KafkaBackup ${namespace}/${name} spec.encryption.keySecret`,
          )
        : undefined;
      return { kafka, ...(encryptionKey ? { encryptionKey } : {}) };
    },
  };
}

let listed: { at: number; locations: Promise<Array<ConsoleLocation | UnavailableLocation>> } | undefined;

function locations(): Promise<Array<ConsoleLocation | UnavailableLocation>> {
  if (listed && Date.now() - listed.at < listEveryMs) return listed.locations;
  const fresh = listBackups().then((backups) =>
    Promise.all(
      backups
        .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`))
        .map((kb) =>
          locationOf(kb).catch(
            (err: Error): UnavailableLocation => ({ name: `${kb.metadata.namespace}/${kb.metadata.name}`, error: err.message }),
          ),
        ),
    ),
  );
  listed = { at: Date.now(), locations: fresh };
  fresh.catch((err: unknown) => {
    listed = undefined;
    log.warn({ err: apiErrorMessage(err) }, "could not list KafkaBackups");
  });
  return fresh;
}

// ── Serving ────────────────────────────────────────────────────────────────────────────────────

const running = await startConsole({
  locations,
  operations,
  // The controllers' port variables serve as defaults (the tests start every program alike).
  host: process.env.CONSOLE_HOST ?? process.env.METRICS_BIND_ADDRESS ?? "0.0.0.0",
  port: Number(process.env.CONSOLE_PORT ?? process.env.METRICS_PORT ?? 8080),
  log,
});
log.info({ url: running.url, namespaces: namespaces.length ? namespaces : "all" }, "console serving");

const stop = () => {
  log.info("stopping");
  running.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
