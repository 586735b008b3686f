// Fetching like the Java consumer: one Fetch request per broker carrying every active partition
// it leads, the next request in flight while the last response is processed, and every request
// sized within the run's memory budget. Partitions whose leader moved or failed are looked up
// again (with backoff) and rejoin the loop of their new leader.
import { setTimeout as sleep } from "node:timers/promises";
import { ErrorCode, type KafkaClient, type RawPartition, retriableFetchErrors } from "../kafka/client.ts";
import type { Logger } from "../log.ts";
import type { MemoryBudget } from "./memory.ts";
import type { BackupMetrics } from "./metrics.ts";
import type { PartitionWriter, Taken } from "./partition-writer.ts";

export class FetchError extends Error {
  readonly reason: string;
  override name = "BackupError";
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

export interface FetcherOptions {
  kafka: KafkaClient;
  memory: MemoryBudget;
  log: Logger;
  backupId: string;
  readCommitted: boolean;
  /** Snapshot: at most this many partitions fetched at once (the rest wait their turn); continuous: all. */
  activeLimit: number;
  /**
   * Continuous mode: partitions found since the run began (new topics, added partitions), taken
   * into the loop as they come.
   */
  more?: () => PartitionWriter[];
  /**
   * Asked before a partition that failed rejoins its topic's leader, and before an offset beyond the
   * partition's end fails the run: whether its topic is still the one the run began with (a topic
   * deleted and created again answers by name with offsets from 0). It stops the run (aborts the
   * signal) or throws when a topic was recreated.
   */
  topicCheck?: (topics: string[]) => Promise<void>;
  /**
   * Continuous mode: whether a topic was deleted (and not created again) under the run, as
   * `topicCheck` found. Its partitions are finished where they are and fetched no more; the run
   * goes on with the others.
   */
  deleted?: (topic: string) => boolean;
  /** Bytes per Fetch request (the broker returns at least one batch even when it is larger). */
  requestMaxBytes: number;
  partitionMaxBytes: number;
  maxWaitMs: number;
  metrics?: BackupMetrics;
  signal: AbortSignal;
}

/**
 * Runs until every writer has taken in everything up to its target (snapshot mode) or the signal
 * is aborted (continuous). Writers are finished (open segments stored) as they complete.
 */
export async function fetchPartitions(writers: PartitionWriter[], o: FetcherOptions): Promise<void> {
  const queue = [...writers];
  const all = [...writers];
  const active = new Set<PartitionWriter>();
  const finishing: Promise<void>[] = [];
  const loops = new Map<number, Promise<void>>();
  let failure: { error: unknown } | undefined;
  let wake: () => void = () => {};
  const woken = () => new Promise<void>((resolve) => (wake = resolve));

  const fail = (error: unknown) => {
    failure ??= { error };
    wake();
  };
  const complete = (w: PartitionWriter) => {
    active.delete(w);
    finishing.push(w.finish().catch(fail));
  };

  /** One broker's loop: request, take (next offsets known), send the next request, process. */
  const brokerLoop = async (nodeId: number) => {
    let current = await request(nodeId);
    while (current && !failure && !o.signal.aborted) {
      let response: RawPartition[];
      try {
        response = await current.response;
      } catch (err) {
        o.memory.release(current.charge);
        o.metrics?.retries.inc({ backup_id: o.backupId, kind: "connection" });
        for (const w of current.parts) {
          w.leader = undefined;
          w.failures++;
        }
        o.log.warn(
          { broker: nodeId, err: (err as Error).message, partitions: current.parts.length },
          "fetch failed: looking up the partitions' leaders again; retrying",
        );
        return;
      }
      const taken: Array<[PartitionWriter, Taken]> = [];
      const handling: Promise<void>[] = [];
      for (const raw of response) {
        const w = current.parts.find((p) => p.topic === raw.topic && p.partition === raw.partition);
        if (!w || !active.has(w)) continue;
        if (raw.errorCode !== ErrorCode.NONE) handling.push(partitionError(w, raw));
        else if (raw.highWatermark < w.end && o.topicCheck) handling.push(endWentBack(w, raw));
        else taken.push([w, w.take(raw)]);
      }
      const next = failure || o.signal.aborted ? undefined : await request(nodeId);
      try {
        await Promise.all([...taken.map(([w, t]) => w.process(t)), ...handling]);
      } catch (err) {
        fail(err);
      } finally {
        o.memory.release(current.charge);
      }
      for (const [w] of taken) if (w.caughtUp && active.has(w)) complete(w);
      current = next;
    }
    if (current) {
      // Stopping: the request in flight is dropped.
      const charge = current.charge;
      void current.response.catch(() => {}).finally(() => o.memory.release(charge));
    }
  };

  const request = async (nodeId: number) => {
    const parts = [...active].filter((w) => w.leader === nodeId && !w.blocked && !w.caughtUp);
    if (!parts.length) return undefined;
    // The request share is split between the brokers fetched from at once, so that their loops
    // together never hold more than it (each holds one response and has one in flight).
    const maxBytes = Math.max(64 * 1024, Math.floor(o.requestMaxBytes / Math.max(1, loops.size)));
    // Held twice while it arrives: the socket's chunks, then the response they make.
    const charge = 2 * Math.min(maxBytes, parts.length * o.partitionMaxBytes);
    await o.memory.acquire(charge, o.signal);
    const response = o.kafka.fetch(
      nodeId,
      parts.map((w) => ({ topic: w.topic, partition: w.partition, fetchOffset: w.fetchOffset, maxBytes: o.partitionMaxBytes })),
      { readCommitted: o.readCommitted, maxWaitMs: o.maxWaitMs, maxBytes },
    );
    response.catch(() => {});
    return { parts, charge, response };
  };

  const partitionError = async (w: PartitionWriter, raw: RawPartition) => {
    w.blocked = true;
    try {
      await w.run(async () => {
        if (raw.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) await outOfRange(w);
        else if (retriableFetchErrors.has(raw.errorCode)) {
          o.metrics?.retries.inc({ backup_id: o.backupId, kind: `error_${raw.errorCode}` });
          o.log.warn(
            { topic: w.topic, partition: w.partition, errorCode: raw.errorCode },
            `fetch of ${w.topic}/${w.partition}: Kafka error ${raw.errorCode}; retrying`,
          );
          w.leader = undefined;
          w.failures++;
        } else {
          throw new FetchError(
            "KafkaError",
            `fetch of ${w.topic}/${w.partition} at offset ${w.fetchOffset} failed with Kafka error code ${raw.errorCode}`,
          );
        }
      });
    } finally {
      w.blocked = false;
      wake();
    }
  };

  /**
   * A partition whose end is below one seen before: its log was truncated, or its topic was
   * deleted and created again. Fetched by name, the new topic's records would be read as the old
   * one's without any error (a partition still below the new end), so nothing of the response is
   * taken before the topic check; a partition whose topic is the same is fetched again from where
   * it was, its end taken as it is now.
   */
  const endWentBack = async (w: PartitionWriter, raw: RawPartition) => {
    w.blocked = true;
    try {
      await w.run(async () => {
        await o.topicCheck?.([w.topic]);
        w.end = raw.highWatermark;
      });
    } finally {
      w.blocked = false;
      wake();
    }
  };

  const outOfRange = async (w: PartitionWriter) => {
    const offsets = await o.kafka.endOffsets(w.topic);
    const p = offsets.find((x) => x.partition === w.partition);
    if (p && w.fetchOffset < p.low) {
      await w.recordGap(p.low);
      return;
    }
    // Before the end of a partition is taken for a truncation: a recreated topic stops the run instead.
    await o.topicCheck?.([w.topic]);
    if (o.signal.aborted) return;
    if (!p || w.fetchOffset <= p.high) {
      // A leader that just changed can answer out of range for an offset it will have: retry.
      w.leader = undefined;
      w.failures++;
      return;
    }
    throw new FetchError(
      "OffsetBeyondEnd",
      `${w.topic}/${w.partition}: the backup is at offset ${w.fetchOffset} but the partition ends at ${p.high}; the log was truncated or the topic recreated — back it up into a new backup set`,
    );
  };

  const lookUpLeaders = async () => {
    let lost = [...active].filter((w) => w.leader === undefined || w.leader < 0);
    if (!lost.length) return;
    const attempt = Math.max(...lost.map((w) => w.failures));
    if (attempt > 30) {
      throw new FetchError(
        "KafkaUnavailable",
        `no leader could be fetched from for ${lost.map((w) => `${w.topic}/${w.partition}`).join(", ")}; gave up after ${attempt - 1} retries`,
      );
    }
    if (attempt > 0) {
      const delay = Math.min(10_000, 200 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2);
      o.log.warn(
        { attempt, delayMs: Math.round(delay), partitions: lost.length },
        "partitions without a reachable leader; retrying",
      );
      await sleep(delay, undefined, { signal: o.signal }).catch(() => {});
    }
    // A partition that failed may have failed because its topic was deleted: right before it is
    // fetched by name again, make sure the name still means the same topic, and that it exists.
    const failed = [...new Set(lost.filter((w) => w.failures > 0).map((w) => w.topic))];
    if (failed.length && o.topicCheck) {
      await o.topicCheck(failed);
      if (o.signal.aborted) return;
    }
    // Without a leader, none is in a request: a deleted topic's partitions end here, stored.
    for (const w of lost) if (o.deleted?.(w.topic)) complete(w);
    lost = lost.filter((w) => active.has(w));
    if (!lost.length) return;
    const topics = [...new Set(lost.map((w) => w.topic))];
    const leaders = await o.kafka.leaders(topics, attempt > 0).catch((err: Error) => {
      o.log.warn({ err: err.message }, "leader lookup failed");
      return undefined;
    });
    for (const w of lost) {
      const leader = leaders?.get(w.topic)?.get(w.partition);
      if (leader === undefined || leader < 0) w.failures++;
      else w.leader = leader;
    }
  };

  try {
    while (!failure && !o.signal.aborted) {
      for (const w of o.more?.() ?? []) {
        all.push(w);
        queue.push(w);
      }
      while (active.size < o.activeLimit && queue.length) {
        const w = queue.shift() as PartitionWriter;
        if (w.caughtUp) complete(w);
        else active.add(w);
      }
      // Continuous: a run left with no partition (its topics deleted) waits for new ones.
      if (!active.size && !o.more) break;
      const sleeping = woken();
      await lookUpLeaders();
      for (const w of active) {
        if (w.leader === undefined || w.leader < 0 || loops.has(w.leader)) continue;
        const nodeId = w.leader;
        loops.set(
          nodeId,
          brokerLoop(nodeId)
            .catch(fail)
            .finally(() => {
              loops.delete(nodeId);
              wake();
            }),
        );
      }
      // Wake when a loop ends or a partition needs attention; look again at least every second.
      await Promise.race([sleeping, sleep(1000, undefined, { signal: o.signal }).catch(() => {})]);
    }
  } catch (err) {
    fail(err);
  }
  wake();
  await Promise.allSettled(loops.values());
  if (!failure && o.signal.aborted) {
    // Cancelled: what was taken in is still stored, so the next run resumes from there.
    for (const w of [...active]) complete(w);
  }
  await Promise.allSettled(finishing);
  if (failure) {
    await Promise.allSettled(all.map((w) => w.settle()));
    throw failure.error;
  }
}
