// Leader election on a coordination.k8s.io Lease, as client-go does it: the holder renews the
// lease every `renewMs`; another replica takes it over only after `leaseDurationMs` without a
// renewal. Writes carry the lease's resourceVersion, so two replicas can never both win.
// "Without a renewal" is judged on this replica's own clock, as client-go's observed time: when
// it last saw the lease record change, never the holder's `renewTime`, which was written by
// another machine's clock (a holder whose clock is behind would look expired and be overrun; one
// whose clock is ahead would keep a dead lease for the size of the skew).
import { setTimeout as sleep } from "node:timers/promises";
import type { V1Lease } from "@kubernetes/client-node";
import type { Logger } from "../log.ts";
import type { Kube } from "./client.ts";
import { apiErrorMessage, httpCode } from "./client.ts";

/**
 * Lease times are MicroTime: the API server wants six fractional digits, and client-node
 * serializes a Date with three; a string passes through its serializer as it is.
 */
function microTime(d: Date | string | undefined): Date | undefined {
  if (d === undefined) return undefined;
  return new Date(d).toISOString().replace(/Z$/, "000Z") as unknown as Date;
}

/**
 * The timings that follow from a lease duration: the leader renews every `renewMs` (a standby
 * looks twice as often), and stops leading once it has not renewed for `renewDeadlineMs`
 * (client-go's renew deadline), before a standby may take over.
 */
export function leaderTimings(leaseDurationMs: number): { renewMs: number; renewDeadlineMs: number } {
  return { renewMs: Math.max(1000, leaseDurationMs / 3), renewDeadlineMs: (leaseDurationMs * 2) / 3 };
}

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewMs: number;
  log: Logger;
  signal: AbortSignal;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  /** This machine's clock (tests skew it). */
  now?: () => number;
}

export class LeaderElector {
  leading = false;
  private readonly kube: Kube;
  private readonly o: LeaderOptions;
  private readonly now: () => number;
  /** The lease record as last read (its resourceVersion) and when, on our clock, it last changed. */
  private observed: { record: string; at: number } | undefined;

  constructor(kube: Kube, options: LeaderOptions) {
    this.kube = kube;
    this.o = options;
    this.now = options.now ?? Date.now;
  }

  async run(): Promise<void> {
    let lastRenewed = 0;
    // A leader that has not renewed for two thirds of the lease (an API error, or a call that
    // hangs) stops, before a standby may take over.
    const deadline = leaderTimings(this.o.leaseDurationMs).renewDeadlineMs;
    const watchdog = setInterval(() => {
      if (this.leading && this.now() - lastRenewed > deadline) this.stepDown();
    }, 500);
    watchdog.unref();
    try {
      while (!this.o.signal.aborted) {
        const attempt = this.now();
        const ok = await this.tryAcquireOrRenew().catch((err: unknown) => {
          this.o.log.warn({ err: apiErrorMessage(err) }, "leader election: lease update failed");
          return false;
        });
        if (ok) lastRenewed = attempt;
        if (ok && !this.leading) {
          this.leading = true;
          this.o.log.info({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity }, "became the leader");
          this.o.onStartedLeading();
        } else if (!ok && this.leading && this.now() - lastRenewed > deadline) {
          this.stepDown();
        }
        await sleep(this.leading ? this.o.renewMs : this.o.renewMs / 2, undefined, { signal: this.o.signal }).catch(() => {});
      }
    } finally {
      clearInterval(watchdog);
    }
  }

  private stepDown(): void {
    if (!this.leading) return;
    this.leading = false;
    this.o.log.warn({ lease: `${this.o.namespace}/${this.o.name}` }, "lost the leadership");
    this.o.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.o;
    const now = new Date(this.now());
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
      renewTime: microTime(now),
    };
    let lease: V1Lease;
    try {
      lease = await this.kube.coordination.readNamespacedLease({ namespace, name });
    } catch (err) {
      if (httpCode(err) !== 404) throw err;
      try {
        await this.kube.coordination.createNamespacedLease({
          namespace,
          body: { metadata: { name, namespace }, spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 } },
        });
        return true;
      } catch (createErr) {
        if (httpCode(createErr) === 409) return false;
        throw createErr;
      }
    }
    const holder = lease.spec?.holderIdentity;
    const duration = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
    const mine = holder === identity;
    const record = `${lease.metadata?.resourceVersion}`;
    if (this.observed?.record !== record) this.observed = { record, at: now.getTime() };
    if (!mine && holder && this.observed.at + duration > now.getTime()) return false;
    try {
      await this.kube.coordination.replaceNamespacedLease({
        namespace,
        name,
        body: {
          metadata: { name, namespace, resourceVersion: lease.metadata?.resourceVersion },
          spec: {
            ...spec,
            acquireTime: microTime(mine ? lease.spec?.acquireTime : now),
            leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + (mine ? 0 : 1),
          },
        },
      });
      return true;
    } catch (err) {
      if (httpCode(err) === 409) return false;
      throw err;
    }
  }

  /** Gives the lease up on shutdown so a standby takes over at once, not after the duration. */
  async release(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    const { namespace, name } = this.o;
    try {
      const lease = await this.kube.coordination.readNamespacedLease({ namespace, name });
      if (lease.spec?.holderIdentity !== this.o.identity) return;
      await this.kube.coordination.replaceNamespacedLease({
        namespace,
        name,
        body: {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: "",
            acquireTime: microTime(lease.spec?.acquireTime),
            renewTime: microTime(new Date(0)),
          },
        },
      });
    } catch (err) {
      this.o.log.warn({ err: apiErrorMessage(err) }, "could not release the leader lease");
    }
  }
}
