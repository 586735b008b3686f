// Large buffers used over and over (a backup's segment frames): reused instead of allocated per
// segment. Each allocation of an ArrayBuffer counts as external memory, and V8 answers external
// memory growth with full collections: a backup allocating a fresh frame per segment spent a
// sixth of its CPU in them (docs/performance.md). Free buffers are kept for a few seconds only, so
// an idle process gives them back.

const KEEP_FREE_MS = 5000;

export class BufferPool {
  readonly #free: Buffer[] = [];
  #timer: NodeJS.Timeout | undefined;

  readonly maxFree: number;

  constructor(maxFree: number) {
    this.maxFree = maxFree;
  }

  /** A buffer of at least `bytes` (up to twice that, so a small request never pins a big one). */
  acquire(bytes: number): Buffer {
    const i = this.#free.findIndex((b) => b.length >= bytes && b.length <= 2 * bytes);
    if (i >= 0) return this.#free.splice(i, 1)[0] as Buffer;
    return Buffer.allocUnsafeSlow(bytes);
  }

  /** Gives a buffer back: nothing may read or write it afterwards. */
  release(buffer: Buffer): void {
    if (this.#free.length >= this.maxFree) this.#free.shift();
    this.#free.push(buffer);
    this.#timer?.refresh();
    this.#timer ??= setTimeout(() => {
      this.#free.length = 0;
      this.#timer = undefined;
    }, KEEP_FREE_MS).unref();
  }

  get freeBuffers(): number {
    return this.#free.length;
  }
}
