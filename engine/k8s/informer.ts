// Watching one kind: list, then watch from the list's resourceVersion, keeping a cache. A watch
// that ends is resumed from the last version seen; "410 Gone" (the version is too old) relists;
// errors back off and retry for ever. A periodic resync wakes every cached key, so decisions are
// re-made even if an event was lost (level-triggered).

import { setTimeout as sleep } from "node:timers/promises";
import { Watch } from "@kubernetes/client-node";
import type { Logger } from "../log.ts";
import type { Kube } from "./client.ts";
import { apiErrorMessage } from "./client.ts";
import { type CustomResource, type Kind, keyOf } from "./resource.ts";

export interface InformerOptions {
  /** Namespaces to watch; empty = all. */
  namespaces: string[];
  resyncMs: number;
  onChange: (key: string, object: CustomResource | undefined) => void;
  log: Logger;
  signal: AbortSignal;
}

export class Informer {
  readonly cache = new Map<string, CustomResource>();
  private readonly kube: Kube;
  private readonly kind: Kind;
  private readonly o: InformerOptions;
  /** True once every namespace has been listed and its watch started. */
  private readonly synced = new Set<string>();

  constructor(kube: Kube, kind: Kind, options: InformerOptions) {
    this.kube = kube;
    this.kind = kind;
    this.o = options;
  }

  get hasSynced(): boolean {
    return this.synced.size === Math.max(1, this.o.namespaces.length);
  }

  start(): void {
    const scopes = this.o.namespaces.length ? this.o.namespaces : [""];
    for (const ns of scopes) void this.run(ns);
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

  private async list(namespace: string): Promise<string> {
    const { group, version, plural } = this.kind;
    const result = (
      namespace
        ? await this.kube.objects.listNamespacedCustomObject({ group, version, plural, namespace })
        : await this.kube.objects.listClusterCustomObject({ group, version, plural })
    ) as { items: CustomResource[]; metadata: { resourceVersion: string } };
    const seen = new Set<string>();
    for (const item of result.items) {
      const key = keyOf(item);
      seen.add(key);
      this.cache.set(key, item);
      this.o.onChange(key, item);
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
    const scope = namespace || "*";
    let resourceVersion: string | undefined;
    let failures = 0;
    while (!this.o.signal.aborted) {
      try {
        resourceVersion ??= await this.list(namespace);
        this.synced.add(scope);
        const outcome = await this.watchOnce(namespace, resourceVersion, (rv) => {
          resourceVersion = rv;
        });
        failures = 0;
        if (outcome === "gone") {
          this.o.log.info({ namespace: scope }, "watch expired (410 Gone): relisting");
          resourceVersion = undefined;
        }
      } catch (err) {
        failures++;
        this.synced.delete(scope);
        resourceVersion = undefined;
        const delay = Math.min(30_000, 500 * 2 ** Math.min(failures, 6));
        this.o.log.warn({ namespace: scope, err: apiErrorMessage(err), retryInMs: delay }, `watching ${this.kind.plural} failed`);
        await sleep(delay, undefined, { signal: this.o.signal }).catch(() => {});
      }
    }
  }

  private watchOnce(namespace: string, resourceVersion: string, onVersion: (rv: string) => void): Promise<"ended" | "gone"> {
    return new Promise((resolve, reject) => {
      let gone = false;
      const watch = new Watch(this.kube.config);
      watch
        .watch(
          this.path(namespace),
          { resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300 },
          (type: string, object: CustomResource & { code?: number }) => {
            if (type === "ERROR") {
              if (object.code === 410) gone = true;
              return;
            }
            if (object.metadata?.resourceVersion) onVersion(object.metadata.resourceVersion);
            if (type === "BOOKMARK") return;
            const key = keyOf(object);
            if (type === "DELETED") {
              this.cache.delete(key);
              this.o.onChange(key, undefined);
            } else {
              this.cache.set(key, object);
              this.o.onChange(key, object);
            }
          },
          (err: unknown) => (err && !gone ? reject(err) : resolve(gone ? "gone" : "ended")),
        )
        .then((controller) => {
          this.o.signal.addEventListener("abort", () => controller.abort(), { once: true });
        }, reject);
    });
  }
}
