// The per-object work queue: events only wake a key; one reconcile per key at a time; a key
// woken while it runs is reconciled once more afterwards (coalesced); delayed requeues keep only
// the earliest; failures back off exponentially per key and error class.
export type Reconcile = (key: string) => Promise<void>;

export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly concurrency: number;
  private readonly reconcile: Reconcile;
  private stopped = false;
  private idle: Array<() => void> = [];
  private readonly onIdle: () => void;

  /** `onIdle` runs each time the last reconcile in flight ends with nothing pending. */
  constructor(reconcile: Reconcile, concurrency = 4, onIdle: () => void = () => {}) {
    this.reconcile = reconcile;
    this.concurrency = concurrency;
    this.onIdle = onIdle;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    this.pending.add(key);
    this.pump();
  }

  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    const at = Date.now() + Math.max(0, delayMs);
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(
      () => {
        this.timers.delete(key);
        this.add(key);
      },
      Math.max(0, delayMs),
    );
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.concurrency && this.pending.size) {
      const key = this.pending.values().next().value as string;
      this.pending.delete(key);
      this.running.add(key);
      void this.reconcile(key)
        .catch(() => {})
        .finally(() => {
          this.running.delete(key);
          if (this.dirty.delete(key)) this.pending.add(key);
          this.pump();
          if (!this.running.size && !this.pending.size) {
            for (const resolve of this.idle.splice(0)) resolve();
            if (!this.stopped) this.onIdle();
          }
        });
    }
  }

  get size(): number {
    return this.pending.size + this.running.size;
  }

  /** Stops taking work; resolves when what runs has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.pending.clear();
    if (this.running.size) await new Promise<void>((resolve) => this.idle.push(resolve));
  }
}

/** Per-key failure counts and the delay before the next try. */
export class Backoff {
  private readonly failures = new Map<string, number>();
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(baseMs = 1000, maxMs = 5 * 60_000) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }

  /** Records a failure and returns how long to wait (jittered, doubling, capped). */
  fail(key: string, minimumMs = 0): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = Math.min(this.maxMs, this.baseMs * 2 ** (n - 1));
    return Math.max(minimumMs, Math.round(delay * (0.8 + Math.random() * 0.4)));
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }

  count(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}
