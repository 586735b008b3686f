// Records/s and bytes/s limits shared by every partition of a run: a token bucket per limit,
// refilled continuously, with a burst of one second's worth. 0 means unlimited.
import { setTimeout as sleep } from "node:timers/promises";

export class Throttle {
  private readonly rate: number;
  private tokens: number;
  private last: number;
  private readonly now: () => number;

  constructor(perSecond: number, now: () => number = () => performance.now()) {
    this.rate = perSecond;
    this.tokens = perSecond;
    this.now = now;
    this.last = now();
  }

  /** Tokens per second, 0 = unlimited. */
  get perSecond(): number {
    return this.rate;
  }

  /** How long to wait before `amount` may pass; takes the tokens (the balance may go negative). */
  reserve(amount: number): number {
    if (this.rate <= 0) return 0;
    const now = this.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    this.tokens -= amount;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.rate) * 1000;
  }

  async take(amount: number, signal?: AbortSignal): Promise<void> {
    const wait = this.reserve(amount);
    // An abort ends the wait early; the caller sees the signal and stops cleanly.
    if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => {});
  }
}
