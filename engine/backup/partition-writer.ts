// One partition's side of a backup: fetched record batches in, durable segments and checkpoints
// out. Batches are kept as Kafka encoded them (segment version 2): each is checked (CRC-32C),
// filtered by the read-committed rule at the batch level, walked once for its offsets, timestamps
// and sizes, and appended to the open segment; no object is made per record. A segment is sealed
// when it reaches its size, record or age limit, stored, and only then is the checkpoint moved.
import type { Codec } from "../format/codec.ts";
import type { ManifestSegment } from "../format/manifest.ts";
import { type BatchEntry, BatchSegmentBuilder, sealSegment } from "../format/segment.ts";
import {
  type BatchView,
  batchCodec,
  batchEnd,
  batchRecordsRegion,
  isControl,
  isTransactional,
  scanRecords,
  splitBatches,
  verifyBatchCrc,
  viewBatch,
  withRecordsRegion,
} from "../kafka/batch-view.ts";
import type { RawPartition } from "../kafka/client.ts";
import { decodeRecordSet } from "../kafka/record-batch.ts";
import { encodeBatchAtOffsets } from "../kafka/record-batch-encoder.ts";
import type { Logger } from "../log.ts";
import { type Checkpoint, storeCheckpoint, withGap, withProgress, withSegment } from "./checkpoint.ts";
import { checkpointKey, segmentKey } from "./layout.ts";
import type { Lease } from "./lease.ts";
import type { MemoryBudget } from "./memory.ts";
import type { BackupMetrics } from "./metrics.ts";
import type { ObjectStore } from "./store.ts";
import type { Throttle } from "./throttle.ts";

export interface WriterSettings {
  backupId: string;
  codec: Codec;
  compressionLevel: number;
  encryptionKey?: Buffer;
  segmentMaxBytes: number;
  segmentMaxRecords?: number;
  segmentMaxIntervalMs: number;
  readCommitted: boolean;
}

/** What every partition of a run shares. */
export interface WriterShared {
  settings: WriterSettings;
  store: ObjectStore;
  lease: Lease;
  memory: MemoryBudget;
  recordThrottle: Throttle;
  byteThrottle: Throttle;
  totals: { records: number; bytes: number; storedBytes: number; segments: number; skipped: number; gaps: number };
  metrics?: BackupMetrics;
  signal: AbortSignal;
}

/** A fetched partition after the synchronous first look: its batches and where the next fetch starts. */
export interface Taken {
  raw: RawPartition;
  batches: BatchView[];
  /** The offset this response was fetched from, and where the next fetch starts. */
  from: number;
  to: number;
}

export class PartitionWriter {
  readonly topic: string;
  readonly partition: number;
  /** The last stored checkpoint: what the manifest lists. */
  checkpoint: Checkpoint;
  /** Snapshot mode: stop here (the end seen at start); continuous: never. */
  readonly target: number;
  /** Latest end offset seen, for lag. */
  end: number;
  /** Where the next fetch starts. */
  fetchOffset: number;
  /** Offset after the last batch taken in: what progress counts. */
  position: number;
  /** The broker leading the partition, when known. */
  leader: number | undefined;
  /** Fetch failures in a row, for backoff. */
  failures = 0;
  /** Left out of fetches while an error of its own is being handled. */
  blocked = false;
  readonly #shared: WriterShared;
  readonly #log: Logger;
  readonly #labels: { backup_id: string; topic: string };
  #builder: BatchSegmentBuilder;
  /** Budget held by the open segment's batches. */
  #held = 0;
  /** Offsets passed on purpose (markers, aborted data) since the last checkpoint. */
  #skipped = 0;
  /**
   * Sealed parts of the checkpoint's segment list this writer has stored (checkpoint.ts). A run
   * starts at 0: its first checkpoint writes the parts of what it resumed again, with the same
   * bytes, once.
   */
  #checkpointParts = 0;
  /** Every offset below this is stored, skipped or in the open segment. */
  #coveredUntil: number;
  /** Seals in order: a checkpoint never moves past a segment that is not stored. */
  #sealing: Promise<void> = Promise.resolve();
  /** Responses processed in order. */
  #processing: Promise<void> = Promise.resolve();
  #failed: unknown;

  constructor(
    shared: WriterShared,
    log: Logger,
    init: { topic: string; partition: number; checkpoint: Checkpoint; target: number; end: number },
  ) {
    this.#shared = shared;
    this.#builder = new BatchSegmentBuilder(shared.settings.segmentMaxBytes);
    this.topic = init.topic;
    this.partition = init.partition;
    this.checkpoint = init.checkpoint;
    this.target = init.target;
    this.end = init.end;
    this.fetchOffset = init.checkpoint.nextOffset;
    this.position = init.checkpoint.nextOffset;
    this.#coveredUntil = init.checkpoint.nextOffset;
    this.#log = log.child({ topic: init.topic, partition: init.partition });
    this.#labels = { backup_id: shared.settings.backupId, topic: init.topic };
  }

  get where(): string {
    return `${this.topic}/${this.partition}`;
  }

  /** Every offset up to the target is taken in (snapshot mode). */
  get caughtUp(): boolean {
    return this.fetchOffset >= this.target;
  }

  /** Bytes of batches in the open segment (the largest is sealed early when memory runs short). */
  get openBytes(): number {
    return this.#builder.bytes;
  }

  /**
   * The synchronous first look at a response: its complete batches and the next fetch offset, so
   * the next request can go out before this one is processed.
   */
  take(raw: RawPartition): Taken {
    const from = this.fetchOffset;
    this.end = raw.highWatermark;
    const batches = splitBatches(raw.recordSet, this.where);
    const last = batches.at(-1);
    if (last) this.fetchOffset = Math.min(this.target, Math.max(this.fetchOffset, batchEnd(last)));
    this.failures = 0;
    return { raw, batches, from, to: this.fetchOffset };
  }

  /** Processes a taken response after those before it. */
  process(taken: Taken): Promise<void> {
    return this.run(() => this.#process(taken));
  }

  /** Runs `step` after every response and step before it (the partition's work is sequential). */
  run(step: () => Promise<void>): Promise<void> {
    const next = this.#processing.then(step);
    this.#processing = next.catch(() => {});
    return next;
  }

  async #process({ raw, batches, from, to }: Taken): Promise<void> {
    this.#throwIfFailed();
    const hi = this.target;
    // The read-committed rule, as the Java consumer applies it: aborted transactions listed by the
    // broker start at their first offset and end at that producer's abort marker.
    const pending = [...raw.aborted].sort((a, b) => a.firstOffset - b.firstOffset);
    const abortedProducers = new Set<number>();
    let covered = from;
    for (const b of batches) {
      const end = batchEnd(b);
      if (end <= from || b.baseOffset >= hi) continue;
      while (pending.length && (pending[0]?.firstOffset ?? 0) < end) {
        abortedProducers.add(pending.shift()?.producerId ?? -1);
      }
      if (isControl(b)) {
        verifyBatchCrc(b, this.where);
        if (controlIsAbort(b)) abortedProducers.delete(b.producerId);
        this.#skipped += await this.#offsetsWithin(b, from, hi);
      } else if (this.#shared.settings.readCommitted && isTransactional(b) && abortedProducers.has(b.producerId)) {
        verifyBatchCrc(b, this.where);
        this.#skipped += await this.#offsetsWithin(b, from, hi);
      } else {
        const entry = await this.#entry(b, from, hi);
        if (entry) {
          const limit = this.#shared.settings.segmentMaxRecords;
          if (limit !== undefined && this.#builder.recordCount + entry.recordCount > limit) await this.#addSplit(entry, limit);
          else {
            await this.#throttle(entry);
            this.#add(entry);
          }
        }
      }
      covered = Math.min(hi, end);
      this.#coveredUntil = covered;
      this.position = covered;
      if (this.#full()) this.seal();
    }
    this.position = Math.max(this.position, to);
    this.#coveredUntil = Math.max(this.#coveredUntil, covered, to);
    const s = this.#shared.settings;
    if (!this.#builder.empty && Date.now() - this.#builder.openedAt >= s.segmentMaxIntervalMs) this.seal();
  }

  /** The batch as stored: checked, walked, cut to [from, hi) when it straddles either end. */
  async #entry(b: BatchView, from: number, hi: number): Promise<BatchEntry | undefined> {
    verifyBatchCrc(b, this.where);
    const sourceCodec = batchCodec(b);
    let view = b;
    let region = await batchRecordsRegion(b, this.where);
    let stored: Buffer;
    if (b.baseOffset < from || batchEnd(b) > hi) {
      const [decoded] = await decodeRecordSet(b.bytes, this.where);
      const records = (decoded?.records ?? []).filter((r) => r.offset >= from && r.offset < hi);
      if (!records.length) return undefined;
      stored = encodeBatchAtOffsets(records);
      view = viewBatch(stored);
      region = stored.subarray(61);
    } else if (sourceCodec !== 0 && this.#shared.settings.codec !== "none") {
      // The storage codec compresses the segment: the batch is stored decompressed, so the
      // records compress together (the source codec is kept in the entry for restore).
      stored = withRecordsRegion(b, region, 0);
    } else {
      // A view of the fetch response: the segment builder copies it into its frame.
      stored = b.bytes;
    }
    const scan = scanRecords(view, region, this.where);
    if (scan.firstOffset < 0) return undefined;
    return {
      sourceCodec,
      contiguous: scan.contiguous,
      firstOffset: scan.firstOffset,
      lastOffset: scan.lastOffset,
      minTimestamp: scan.minTimestamp,
      maxTimestamp: view.maxTimestamp,
      lastTimestamp: scan.lastTimestamp,
      recordCount: view.recordCount,
      recordBytes: scan.recordBytes,
      batch: stored,
    };
  }

  /**
   * Waits out the rate limits for a batch, a tenth of a second's worth at a time, so progress
   * moves through a large batch instead of jumping over it.
   */
  async #throttle(entry: BatchEntry): Promise<void> {
    const { recordThrottle, byteThrottle, signal } = this.#shared;
    if (!recordThrottle.perSecond && !byteThrottle.perSecond) return;
    const step = Math.max(1, Math.floor(recordThrottle.perSecond / 10) || entry.recordCount);
    const bytesPerRecord = entry.recordBytes / entry.recordCount;
    for (let taken = 0; taken < entry.recordCount && !signal.aborted; ) {
      const n = Math.min(step, entry.recordCount - taken);
      await recordThrottle.take(n, signal);
      await byteThrottle.take(n * bytesPerRecord, signal);
      taken += n;
      this.position = Math.max(this.position, entry.firstOffset + taken);
    }
  }

  /** Offsets of a batch's records inside [from, hi) (the whole batch unless it straddles an end). */
  async #offsetsWithin(b: BatchView, from: number, hi: number): Promise<number> {
    if (b.baseOffset >= from && batchEnd(b) <= hi) return b.recordCount;
    const [decoded] = await decodeRecordSet(b.bytes, this.where);
    return (decoded?.records ?? []).filter((r) => r.offset >= from && r.offset < hi).length;
  }

  /**
   * A batch that would take the open segment past `segmentMaxRecords` is cut at the limit (its
   * records re-batched with their own offsets), so a segment never holds more records than asked.
   */
  async #addSplit(entry: BatchEntry, limit: number): Promise<void> {
    const [decoded] = await decodeRecordSet(entry.batch, this.where);
    const records = decoded?.records ?? [];
    for (let at = 0; at < records.length; ) {
      const room = Math.max(1, limit - this.#builder.recordCount);
      const part = records.slice(at, at + room);
      at += part.length;
      const bytes = encodeBatchAtOffsets(part);
      const view = viewBatch(bytes);
      const scan = scanRecords(view, bytes.subarray(61), this.where);
      const piece: BatchEntry = {
        sourceCodec: entry.sourceCodec,
        contiguous: scan.contiguous,
        firstOffset: scan.firstOffset,
        lastOffset: scan.lastOffset,
        minTimestamp: scan.minTimestamp,
        maxTimestamp: view.maxTimestamp,
        lastTimestamp: scan.lastTimestamp,
        recordCount: part.length,
        recordBytes: scan.recordBytes,
        batch: bytes,
      };
      await this.#throttle(piece);
      this.#add(piece);
      if (this.#builder.recordCount >= limit && at < records.length) {
        // Everything up to this part's last record is in the segment being sealed.
        this.#coveredUntil = scan.lastOffset + 1;
        this.seal();
      }
    }
  }

  #add(entry: BatchEntry): void {
    this.#builder.add(entry);
    // Held twice while the segment is sealed (the block, then the stored object).
    const charge = 2 * entry.batch.length;
    this.#held += charge;
    this.#shared.memory.take(charge);
  }

  #full(): boolean {
    const s = this.#shared.settings;
    return (
      this.#builder.bytes >= s.segmentMaxBytes ||
      (s.segmentMaxRecords !== undefined && this.#builder.recordCount >= s.segmentMaxRecords)
    );
  }

  /**
   * Stores the open segment (or, without one, moves the checkpoint past skipped offsets) after
   * the seals before it. Failures surface at the next process or at `finish`.
   */
  seal(): void {
    const sealedAt = this.#coveredUntil;
    const skipped = this.#skipped;
    this.#skipped = 0;
    const builder = this.#builder;
    const held = this.#held;
    this.#builder = new BatchSegmentBuilder(this.#shared.settings.segmentMaxBytes);
    this.#held = 0;
    this.#sealing = this.#sealing
      .then(() => (builder.empty ? this.#storeProgress(sealedAt, skipped) : this.#storeSegment(builder, sealedAt, skipped)))
      .catch((err: unknown) => {
        this.#failed ??= err;
      })
      .finally(() => this.#shared.memory.release(held));
  }

  async #storeProgress(sealedAt: number, skipped: number): Promise<void> {
    if (sealedAt <= this.checkpoint.nextOffset && !skipped) return;
    const next = withProgress(this.checkpoint, sealedAt, skipped);
    await this.#writeCheckpoint(next);
    this.#shared.totals.skipped += skipped;
    this.#shared.metrics?.skipped.inc(this.#labels, skipped);
  }

  async #storeSegment(builder: BatchSegmentBuilder, sealedAt: number, skipped: number): Promise<void> {
    const { settings: s, store, totals, metrics } = this.#shared;
    const encodeOptions = {
      partition: this.partition,
      codec: s.codec,
      level: s.compressionLevel,
      ...(s.encryptionKey ? { encryptionKey: s.encryptionKey } : {}),
    };
    const segment = await sealSegment(builder.prepare(), encodeOptions);
    const key = segmentKey(s.backupId, this.topic, this.partition, segment.info.firstOffset, s.codec);
    this.#shared.lease.check();
    const writeStarted = performance.now();
    await store.put(key, segment.bytes);
    // Stored: nothing reads the frame again. (After a failed write it is left to the collector: an
    // abandoned request might still be reading it.)
    builder.release();
    metrics?.storageWriteLatency.observe({ backup_id: s.backupId }, (performance.now() - writeStarted) / 1000);
    const entry: ManifestSegment = {
      key,
      format: "kbos-v2",
      firstOffset: segment.info.firstOffset,
      lastOffset: segment.info.lastOffset,
      recordCount: segment.info.recordCount,
      minTimestamp: segment.info.minTimestamp,
      maxTimestamp: segment.info.maxTimestamp,
      codec: segment.info.codec,
      encrypted: segment.info.encrypted,
      storedBytes: segment.info.storedBytes,
      recordBlockBytes: segment.info.recordBlockBytes,
      sha256: segment.sha256,
    };
    await this.#writeCheckpoint(withSegment(this.checkpoint, entry, sealedAt, skipped));
    // Counted only now: an offset is backed up once its segment and checkpoint are stored.
    totals.records += builder.recordCount;
    totals.bytes += builder.recordBytes;
    totals.storedBytes += segment.bytes.length;
    totals.segments++;
    totals.skipped += skipped;
    metrics?.records.inc(this.#labels, builder.recordCount);
    metrics?.bytes.inc(this.#labels, builder.recordBytes);
    metrics?.segments.inc(this.#labels);
    metrics?.skipped.inc(this.#labels, skipped);
    metrics?.storageWriteBytes.inc({ backup_id: s.backupId }, segment.bytes.length);
  }

  /** Only a stored checkpoint is published (the manifest is built from `checkpoint`). */
  async #writeCheckpoint(next: Checkpoint): Promise<void> {
    this.#shared.lease.check();
    this.#checkpointParts = await storeCheckpoint(
      this.#shared.store,
      checkpointKey(this.#shared.settings.backupId, this.topic, this.partition),
      next,
      this.#checkpointParts,
    );
    this.checkpoint = next;
  }

  /**
   * Retention deleted offsets below `logStart` before they were read: what is open is stored
   * first, then the gap is recorded and the partition goes on from `logStart`.
   */
  async recordGap(logStart: number): Promise<void> {
    this.seal();
    await this.#sealing;
    this.#throwIfFailed();
    this.#log.warn(
      { from: this.checkpoint.nextOffset, to: logStart },
      "offsets deleted by retention during backup: recording a gap",
    );
    await this.#writeCheckpoint(withGap(this.checkpoint, logStart, "retention"));
    this.#shared.totals.gaps++;
    this.#shared.metrics?.gaps.inc(this.#labels);
    this.fetchOffset = logStart;
    this.position = logStart;
    this.#coveredUntil = logStart;
  }

  /** Stores what is open and waits for every seal; throws the first storage failure. */
  async finish(): Promise<void> {
    await this.#processing;
    this.#throwIfFailed();
    this.seal();
    await this.#sealing;
    this.#throwIfFailed();
  }

  /** After a failure elsewhere: lets the seals in progress end, storing nothing more. */
  async settle(): Promise<void> {
    await this.#processing.catch(() => {});
    await this.#sealing.catch(() => {});
    this.#shared.memory.release(this.#held);
    this.#held = 0;
  }

  #throwIfFailed(): void {
    if (this.#failed !== undefined) throw this.#failed;
  }
}

/** A control record's key is (version int16, type int16): type 0 = ABORT, 1 = COMMIT. */
function controlIsAbort(b: BatchView): boolean {
  const region = b.bytes.subarray(61);
  // length, attributes, timestamp delta, offset delta (varints of small values: one byte each
  // except the length), then the key length and the key.
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = region[pos++] ?? 0;
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      shift += 7;
    }
  };
  varint(); // record length
  pos++; // attributes
  varint(); // timestamp delta
  varint(); // offset delta
  const keyLength = varint();
  if (keyLength < 4 || pos + 4 > region.length) return false;
  return region.readInt16BE(pos + 2) === 0;
}
