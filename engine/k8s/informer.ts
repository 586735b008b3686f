// Watching one kind: list, then watch from the list's resourceVersion, keeping a cache.
// - A watch runs for its full server-side timeout (minutes, jittered, with bookmarks that keep its
//   resourceVersion fresh). A quiet watch is normal: its clean end is not a failure, and the next
//   watch starts at once from the last version seen.
// - A watch that cannot connect (the API server restarting) retries with backoff from the same
//   version: nothing is listed again unless the server says the version is gone (410), and then
//   the relist is served from the watch cache (NotOlderThan the version we had) and wakes only the
//   keys that changed.
// - A periodic resync wakes every cached key, so decisions are re-made even if an event was lost
//   (level-triggered).
// - What no controller reads is dropped before an object is cached: its managedFields (about half
//   of a KafkaBackup's JSON) and kubectl's last-applied annotation (a copy of the whole spec).
//   Custom resources are only ever patched, never written back whole, so nothing is lost.

import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../log.ts";
import type { Kube } from "./client.ts";
import { apiErrorMessage, httpCode } from "./client.ts";
import { type CustomResource, type Kind, keyOf } from "./resource.ts";

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration";

/** The object as the cache keeps it: without the fields only the API server's bookkeeping uses. */
export function slim<T extends CustomResource>(object: T): T {
  const meta = object.metadata as T["metadata"] & { managedFields?: unknown };
  delete meta.managedFields;
  if (meta.annotations && lastApplied in meta.annotations) {
    const { [lastApplied]: _, ...rest } = meta.annotations;
    meta.annotations = rest;
  }
  return object;
}

export interface InformerOptions {
  /** Namespaces to watch; empty = all. */
  namespaces: string[];
  resyncMs: number;
  onChange: (key: string, object: CustomResource | undefined) => void;
  log: Logger;
  signal: AbortSignal;
  /** Server-side watch timeout range in seconds (default 240–290: below undici's 300 s body timeout). */
  watchTimeoutSeconds?: [number, number];
  /** Counts lists and failed watches (the /metrics counters). */
  onList?: () => void;
  onFailure?: () => void;
}

/** How one namespace's (or the cluster's) list-and-watch stands. */
interface Scope {
  /** Listed at least once: the cache holds this scope's objects. */
  synced: boolean;
  /** Since when the list or watch has been failing without a success in between. */
  failingSince?: number;
}

export class Informer {
  readonly cache = new Map<string, CustomResource>();
  private readonly kube: Kube;
  private readonly kind: Kind;
  private readonly o: InformerOptions;
  private readonly scopes = new Map<string, Scope>();

  constructor(kube: Kube, kind: Kind, options: InformerOptions) {
    this.kube = kube;
    this.kind = kind;
    this.o = options;
    for (const ns of this.o.namespaces.length ? this.o.namespaces : [""]) this.scopes.set(ns, { synced: false });
  }

  /** Every scope has been listed once (the cache is complete, though it may lag while a watch reconnects). */
  get hasSynced(): boolean {
    return [...this.scopes.values()].every((s) => s.synced);
  }

  /** The longest time, in ms, that some scope has been failing to list or watch (0: all fine). */
  failingForMs(now = Date.now()): number {
    let worst = 0;
    for (const s of this.scopes.values()) if (s.failingSince !== undefined) worst = Math.max(worst, now - s.failingSince);
    return worst;
  }

  start(): void {
    for (const ns of this.scopes.keys()) void this.run(ns);
    const resync = setInterval(() => {
      for (const key of this.cache.keys()) this.o.onChange(key, this.cache.get(key));
    }, this.o.resyncMs);
    resync.unref();
    this.o.signal.addEventListener("abort", () => clearInterval(resync), { once: true });
  }

  private path(namespace: string): string {
    const { group, version, plural } = this.kind;
    return namespace ? `/apis/${group}/${version}/namespaces/${namespace}/${plural}` : `/apis/${group}/${version}/${plural}`;
  }

  /**
   * Lists the scope and brings the cache in line, waking only keys that changed. With `since`, the
   * list is served from the API server's watch cache (any version not older than it).
   */
  private async list(namespace: string, since: string | undefined): Promise<string> {
    const { group, version, plural } = this.kind;
    const at = since ? { resourceVersion: since, resourceVersionMatch: "NotOlderThan" } : {};
    this.o.onList?.();
    const result = (
      namespace
        ? await this.kube.objects.listNamespacedCustomObject({ group, version, plural, namespace, ...at })
        : await this.kube.objects.listClusterCustomObject({ group, version, plural, ...at })
    ) as { items: CustomResource[]; metadata: { resourceVersion: string } };
    const seen = new Set<string>();
    for (const item of result.items) {
      // A list response names apiVersion and kind once, not per item; watch events carry both.
      item.apiVersion ??= `${group}/${version}`;
      item.kind ??= this.kind.kind;
      slim(item);
      const key = keyOf(item);
      seen.add(key);
      const cached = this.cache.get(key);
      this.cache.set(key, item);
      if (cached?.metadata.resourceVersion !== item.metadata.resourceVersion) this.o.onChange(key, item);
    }
    for (const key of [...this.cache.keys()]) {
      const inScope = !namespace || key.startsWith(`${namespace}/`);
      if (inScope && !seen.has(key)) {
        this.cache.delete(key);
        this.o.onChange(key, undefined);
      }
    }
    return result.metadata.resourceVersion;
  }

  private async run(namespace: string): Promise<void> {
    const scope = this.scopes.get(namespace) as Scope;
    const label = namespace || "*";
    /** The last version seen (list, event or bookmark): where the next watch starts. */
    let resourceVersion: string | undefined;
    /** A version to list from after a 410 (a cheap list from the watch cache). */
    let relistFrom: string | undefined;
    let failures = 0;
    while (!this.o.signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await this.list(namespace, relistFrom).catch((err: unknown) => {
            // The version we had is unknown to this server too: a plain (consistent) list.
            if (relistFrom && httpCode(err) === 410) return this.list(namespace, undefined);
            throw err;
          });
          relistFrom = undefined;
          scope.synced = true;
          scope.failingSince = undefined;
        }
        const outcome = await this.watchOnce(namespace, resourceVersion, (rv) => {
          resourceVersion = rv;
          scope.failingSince = undefined;
          failures = 0;
        });
        if (outcome === "gone") {
          this.o.log.info({ namespace: label }, "watch expired (410 Gone): relisting");
          relistFrom = resourceVersion;
          resourceVersion = undefined;
        }
        // A clean end (the server-side timeout, or the server closing): watch again at once.
      } catch (err) {
        failures++;
        scope.failingSince ??= Date.now();
        this.o.onFailure?.();
        // The version is kept: the next watch resumes from it (a 410 then relists once).
        const delay = Math.round(Math.min(30_000, 250 * 2 ** Math.min(failures, 7)) * (0.8 + Math.random() * 0.4));
        this.o.log.warn({ namespace: label, err: apiErrorMessage(err), retryInMs: delay }, `watching ${this.kind.plural} failed`);
        await sleep(delay, undefined, { signal: this.o.signal }).catch(() => {});
      }
    }
  }

  private async watchOnce(
    namespace: string,
    resourceVersion: string,
    onVersion: (rv: string) => void,
  ): Promise<"ended" | "gone"> {
    const [lo, hi] = this.o.watchTimeoutSeconds ?? [240, 290];
    const timeoutSeconds = Math.round(lo + Math.random() * (hi - lo));
    let gone = false;
    let events = 0;
    const started = Date.now();
    await this.kube.api.watch(
      this.path(namespace),
      { resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
      (type, raw) => {
        events++;
        const object = raw as unknown as CustomResource & { code?: number; message?: string };
        if (type === "ERROR") {
          if (object.code === 410) gone = true;
          else this.o.log.warn({ namespace: namespace || "*", code: object.code, err: object.message }, "watch error event");
          return;
        }
        if (object.metadata?.resourceVersion) onVersion(object.metadata.resourceVersion);
        if (type === "BOOKMARK") return;
        const key = keyOf(object);
        if (type === "DELETED") {
          this.cache.delete(key);
          this.o.onChange(key, undefined);
        } else {
          this.cache.set(key, slim(object));
          this.o.onChange(key, object);
        }
      },
      this.o.signal,
      // A backstop for a connection that died without closing: the server ends the watch first.
      (timeoutSeconds + 30) * 1000,
    );
    if (gone) return "gone";
    // A server that closes every watch at once would otherwise be asked again in a tight loop.
    if (!events && !this.o.signal.aborted && Date.now() - started < 1000)
      throw new Error("the API server closed the watch at once");
    return "ended";
  }
}
