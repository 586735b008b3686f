// A resumed restore skips what it already wrote, counted as each target partition's growth since
// the restore's start (restore.ts). Records another producer wrote into the target in between
// would count too, and the same number of backup records would be skipped without a word. So a
// resumed restore reads the target back and checks, record by record, that what it skips is
// there: at the offset where the restore put it, the same key, value, headers and timestamp (the
// broker's own time on a LogAppendTime topic is not compared). Anything else there — another
// record, another producer's transaction marker — is a foreign record, and the restore fails
// naming the partition and the offset rather than skip. An offset compaction removed holds
// nothing to compare and passes.
import type { BackupRecord } from "../format/record.ts";
import type { KafkaClient } from "../kafka/client.ts";
import { committedRecords, decodeRecordSet } from "../kafka/record-batch.ts";

export class ForeignRecordsError extends Error {
  readonly reason = "ForeignRecordsInTarget";
  override name = "ForeignRecordsError";
}

/** Bytes read back per request. */
const FETCH_BYTES = 4 * 1024 * 1024;

interface Cursor {
  /** The next offset to fetch. */
  next: number;
  records: Map<number, BackupRecord>;
  /** Offsets holding a transaction marker: no producer of a restore writes those. */
  markers: Set<number>;
}

const sameBytes = (a: Buffer | null, b: Buffer | null) => (a === null || b === null ? a === b : a.equals(b));

function sameRecord(got: BackupRecord, want: BackupRecord): boolean {
  return (
    sameBytes(got.key, want.key) &&
    sameBytes(got.value, want.value) &&
    (got.timestampType === "LogAppendTime" || got.timestamp === want.timestamp) &&
    got.headers.length === want.headers.length &&
    got.headers.every((h, i) => h.key === want.headers[i]?.key && sameBytes(h.value, want.headers[i]?.value ?? null))
  );
}

/**
 * Checks a resumed restore's skipped records against the target. One instance per run; calls for
 * one target partition come in offset order (a partition is written by one lane).
 */
export class ResumeCheck {
  private readonly cursors = new Map<string, Cursor>();
  private readonly kafka: KafkaClient;
  private readonly restoreId: string;

  constructor(kafka: KafkaClient, restoreId: string) {
    this.kafka = kafka;
    this.restoreId = restoreId;
  }

  /**
   * The target record at `offset` must be `expected`, the record as this restore writes it;
   * `start` is the partition's end when the restore started.
   */
  async verify(topic: string, partition: number, start: number, offset: number, expected: BackupRecord): Promise<void> {
    const key = `${topic}/${partition}`;
    let c = this.cursors.get(key);
    if (!c) {
      c = { next: start, records: new Map(), markers: new Set() };
      this.cursors.set(key, c);
    }
    while (!c.records.has(offset) && !c.markers.has(offset) && c.next <= offset) await this.fetchMore(topic, partition, c);
    const got = c.records.get(offset);
    const marker = c.markers.has(offset);
    c.records.delete(offset);
    c.markers.delete(offset);
    if (marker || (got && !sameRecord(got, expected))) {
      throw new ForeignRecordsError(
        `target partition ${key} holds at offset ${offset} ${marker ? "a transaction marker" : "a record"} that restore ${this.restoreId} did not write (it started writing there at offset ${start}): another producer wrote into the target since; resuming would skip backup records in its place. Stop the other producers, then restore again under a new name into an empty topic (or with purgeTopics)`,
      );
    }
  }

  /** A stored batch the restore skips whole: its records must be at `offset` onwards, in order. */
  async verifyBatch(topic: string, partition: number, start: number, offset: number, batch: Buffer): Promise<void> {
    let at = offset;
    for (const b of await decodeRecordSet(batch, `${topic}/${partition}`)) {
      for (const r of b.records) await this.verify(topic, partition, start, at++, r);
    }
  }

  private async fetchMore(topic: string, partition: number, c: Cursor): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const leader = (await this.kafka.leaders([topic], attempt > 1)).get(topic)?.get(partition);
      const [raw] =
        leader === undefined
          ? []
          : await this.kafka.fetch(leader, [{ topic, partition, fetchOffset: c.next, maxBytes: FETCH_BYTES }], {
              readCommitted: false,
              maxWaitMs: 500,
              maxBytes: FETCH_BYTES,
            });
      const part =
        raw?.errorCode === 0
          ? committedRecords(await decodeRecordSet(raw.recordSet, `${topic}/${partition}`), raw.aborted, c.next, false)
          : undefined;
      if (part && part.nextOffset > c.next) {
        for (const r of part.records) c.records.set(r.offset, r);
        for (const o of part.skipped) c.markers.add(o);
        c.next = part.nextOffset;
        return;
      }
      if (attempt >= 10) {
        throw new Error(
          `could not read back ${topic}/${partition} from offset ${c.next} to check what an earlier run of restore ${this.restoreId} wrote (error code ${raw?.errorCode ?? "no leader"})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 100 * 2 ** attempt)));
    }
  }
}
