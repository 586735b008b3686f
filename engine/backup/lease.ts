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
  /** When the other holder's lease runs out unless renewed (epoch ms), when known. */
  readonly expiresAt: number | undefined;
  constructor(message: string, expiresAt?: number) {
    super(message);
    this.expiresAt = expiresAt;
  }
}

export class Lease {
  private etag: string;
  private timer: NodeJS.Timeout | undefined;
  private lost: Error | undefined;
  private stopped = false;
  /** Until when the lease is surely ours: the last successful write plus the TTL. */
  private validUntil: number;
  private readonly acquiredAt: number;
  private readonly store: ObjectStore;
  private readonly key: string;
  private readonly holder: string;
  private readonly ttlMs: number;
  private readonly log: Logger;

  private constructor(
    store: ObjectStore,
    key: string,
    holder: string,
    ttlMs: number,
    etag: string,
    acquiredAt: number,
    log: Logger,
  ) {
    this.store = store;
    this.key = key;
    this.holder = holder;
    this.ttlMs = ttlMs;
    this.etag = etag;
    this.acquiredAt = acquiredAt;
    this.validUntil = acquiredAt + ttlMs;
    this.log = log;
  }

  /**
   * Takes the lease of `backupId`. A lease held by the same holder (a restarted runner) or one
   * that has expired (a runner that died) is taken over; a live lease of another holder refuses.
   */
  static async acquire(
    store: ObjectStore,
    backupId: string,
    holder: string,
    ttlMs: number,
    log: Logger,
    key = leaseKey(backupId),
  ): Promise<Lease> {
    const now = Date.now();
    const record = (): Buffer =>
      Buffer.from(JSON.stringify({ holder, acquiredAt: now, renewedAt: now, expiresAt: now + ttlMs } satisfies LeaseRecord));
    try {
      const { etag } = await store.put(key, record(), { ifNoneMatch: true });
      return new Lease(store, key, holder, ttlMs, etag, now, log).start();
    } catch (err) {
      if (!isPreconditionFailed(err)) throw err;
    }
    const current = await store.getBuffer(key);
    const held = JSON.parse(current.body.toString("utf8")) as LeaseRecord;
    if (held.holder !== holder && held.expiresAt > now) {
      throw new LeaseHeldError(
        `backup set ${backupId} is being written by ${held.holder} (lease ${key} valid until ${new Date(held.expiresAt).toISOString()}); ` +
          "two runners never write one backup set: wait for it to finish, or for the lease to expire if that runner is gone",
        held.expiresAt,
      );
    }
    try {
      const { etag } = await store.put(key, record(), { ifMatch: current.etag });
      log.info({ backupId, previousHolder: held.holder }, "took over the backup set's lease");
      return new Lease(store, key, holder, ttlMs, etag, now, log).start();
    } catch (err) {
      if (isPreconditionFailed(err)) throw new LeaseHeldError(`backup set ${backupId}: another runner took the lease first`);
      throw err;
    }
  }

  private start(): this {
    this.schedule();
    return this;
  }

  /** Renewals run one after another, never overlapping (one etag in flight at a time). */
  private schedule(): void {
    if (this.stopped || this.lost) return;
    this.timer = setTimeout(() => void this.renew().finally(() => this.schedule()), Math.max(1000, this.ttlMs / 3));
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    const started = Date.now();
    const record = { holder: this.holder, acquiredAt: this.acquiredAt, renewedAt: started, expiresAt: started + this.ttlMs };
    try {
      this.etag = (await this.store.put(this.key, Buffer.from(JSON.stringify(record)), { ifMatch: this.etag })).etag;
      this.validUntil = started + this.ttlMs;
    } catch (err) {
      if (!isPreconditionFailed(err)) {
        this.log.warn({ key: this.key, err: (err as Error).message }, "could not renew the lease; will retry");
        return;
      }
      // A retried write whose first attempt landed also fails its precondition: still ours?
      const current = await this.store.getBuffer(this.key).catch(() => undefined);
      const held = current ? (JSON.parse(current.body.toString("utf8")) as LeaseRecord) : undefined;
      if (current && held?.holder === this.holder && held.acquiredAt === this.acquiredAt) {
        this.etag = current.etag;
        this.validUntil = held.renewedAt + this.ttlMs;
        return;
      }
      this.lost = new LeaseHeldError(`lost the lease ${this.key}: another runner took it over`);
      this.log.error({ key: this.key }, this.lost.message);
    }
  }

  /** Throws when the lease was taken over; writers check before each durable write. */
  check(): void {
    if (this.lost) throw this.lost;
    // Not renewed for most of a TTL: another runner may take it over any moment now.
    if (Date.now() > this.validUntil - this.ttlMs / 6) {
      throw new LeaseHeldError(`the lease ${this.key} could not be renewed in time; stopping before another runner takes over`);
    }
  }

  async release(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.lost) return;
    // Marked expired with a conditional write, so a lease someone else holds by now is left alone.
    const record = { holder: this.holder, acquiredAt: this.acquiredAt, renewedAt: Date.now(), expiresAt: 0 };
    await this.store
      .put(this.key, Buffer.from(JSON.stringify(record)), { ifMatch: this.etag })
      .catch((err: Error) => this.log.warn({ key: this.key, err: err.message }, "could not release the lease"));
  }
}
