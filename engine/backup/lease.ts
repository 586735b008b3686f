// The single-writer lease of a backup set: an object next to the manifest, created only if absent
// and renewed only if unchanged (conditional writes on the store), so two runners can never write
// one backup set at once, whichever process or cluster they run in.
import type { Logger } from "../log.ts";
import { leaseKey } from "./layout.ts";
import { isPreconditionFailed, type ObjectStore } from "./store.ts";

export interface LeaseRecord {
  holder: string;
  acquiredAt: number;
  renewedAt: number;
  expiresAt: number;
}

export class LeaseHeldError extends Error {
  readonly reason = "BackupSetLocked";
  override name = "LeaseHeldError";
}

export class Lease {
  private etag: string;
  private timer: NodeJS.Timeout | undefined;
  private lost: Error | undefined;
  private readonly store: ObjectStore;
  private readonly key: string;
  private readonly holder: string;
  private readonly ttlMs: number;
  private readonly log: Logger;

  private constructor(store: ObjectStore, key: string, holder: string, ttlMs: number, etag: string, log: Logger) {
    this.store = store;
    this.key = key;
    this.holder = holder;
    this.ttlMs = ttlMs;
    this.etag = etag;
    this.log = log;
  }

  /**
   * Takes the lease of `backupId`. A lease held by the same holder (a restarted runner) or one
   * that has expired (a runner that died) is taken over; a live lease of another holder refuses.
   */
  static async acquire(store: ObjectStore, backupId: string, holder: string, ttlMs: number, log: Logger): Promise<Lease> {
    const key = leaseKey(backupId);
    const now = Date.now();
    const record = (): Buffer =>
      Buffer.from(JSON.stringify({ holder, acquiredAt: now, renewedAt: now, expiresAt: now + ttlMs } satisfies LeaseRecord));
    try {
      const { etag } = await store.put(key, record(), { ifNoneMatch: true });
      return new Lease(store, key, holder, ttlMs, etag, log).start();
    } catch (err) {
      if (!isPreconditionFailed(err)) throw err;
    }
    const current = await store.getBuffer(key);
    const held = JSON.parse(current.body.toString("utf8")) as LeaseRecord;
    if (held.holder !== holder && held.expiresAt > now) {
      throw new LeaseHeldError(
        `backup set ${backupId} is being written by ${held.holder} (lease ${key} valid until ${new Date(held.expiresAt).toISOString()}); ` +
          "two runners never write one backup set: wait for it to finish, or for the lease to expire if that runner is gone",
      );
    }
    try {
      const { etag } = await store.put(key, record(), { ifMatch: current.etag });
      log.info({ backupId, previousHolder: held.holder }, "took over the backup set's lease");
      return new Lease(store, key, holder, ttlMs, etag, log).start();
    } catch (err) {
      if (isPreconditionFailed(err)) throw new LeaseHeldError(`backup set ${backupId}: another runner took the lease first`);
      throw err;
    }
  }

  private start(): this {
    this.timer = setInterval(() => void this.renew(), Math.max(1000, this.ttlMs / 3));
    this.timer.unref();
    return this;
  }

  private async renew(): Promise<void> {
    if (this.lost) return;
    const now = Date.now();
    try {
      const body = Buffer.from(
        JSON.stringify({ holder: this.holder, acquiredAt: now, renewedAt: now, expiresAt: now + this.ttlMs }),
      );
      this.etag = (await this.store.put(this.key, body, { ifMatch: this.etag })).etag;
    } catch (err) {
      if (isPreconditionFailed(err)) {
        this.lost = new LeaseHeldError(`lost the lease ${this.key}: another runner took it over`);
        this.log.error({ key: this.key }, this.lost.message);
      } else {
        this.log.warn({ key: this.key, err: (err as Error).message }, "could not renew the lease; will retry");
      }
    }
  }

  /** Throws when the lease was taken over; writers check before each durable write. */
  check(): void {
    if (this.lost) throw this.lost;
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    if (this.lost) return;
    await this.store
      .delete([this.key])
      .catch((err: Error) => this.log.warn({ key: this.key, err: err.message }, "could not release the lease"));
  }
}
