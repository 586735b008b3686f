// Bulk offset reset: 500 groups × 10 partitions, each group first given a commit, then reset
// to-earliest by the offsets engine with parallelism 50 (as the KafkaOffsetReset controller runs
// it), every resulting offset checked. The raw commit of the first step is reported too, as the
// floor a reset cannot beat.
import { KafkaClient } from "../../engine/kafka/client.ts";
import { commitGroupOffsets, fetchGroupOffsets } from "../../engine/kafka/groups.ts";
import { resetOffsets } from "../../engine/offsets/reset.ts";
import { stackEnv } from "../support/stack-env.ts";

export type OffsetResetFigure =
  | { status: "measured"; groups: number; partitions: number; seconds: number }
  | { status: "not available"; reason: string };

export interface OffsetsBench {
  groups: number;
  partitions: number;
  /** The offsets engine's bulk reset. */
  bulkReset: OffsetResetFigure;
  /** A plain OffsetCommit per group (no planning, no snapshot, no rollback record): a floor, not the reset. */
  rawCommit: { status: "measured"; seconds: number; commitsPerSec: number; concurrency: number };
}

export async function offsetsBench(topic: string, groups: number, partitions: number, records: number): Promise<OffsetsBench> {
  const kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  const prefix = `bench-group-${Date.now()}`;
  const offsets = Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: Math.floor(records / 2) }));
  try {
    const concurrency = 16;
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let g = next++; g < groups; g = next++) await commitGroupOffsets(kafka, `${prefix}-${g}`, offsets);
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const ids = Array.from({ length: groups }, (_, g) => `${prefix}-${g}`);
    const result = await resetOffsets(kafka, { groups: ids, strategy: "to-earliest", parallelism: 50, continueOnError: true });
    const failed = result.outcomes.filter((o) => o.state !== "Reset" && o.state !== "NoOp");
    // Every offset checked: a figure for a reset that did not happen would be worthless.
    let wrong = 0;
    for (const id of ids) {
      for (const o of await fetchGroupOffsets(kafka, id, [topic])) if (o.offset !== 0) wrong++;
    }
    const bulkReset: OffsetResetFigure =
      failed.length || wrong
        ? { status: "not available", reason: `${failed.length} groups failed, ${wrong} offsets not at the earliest` }
        : { status: "measured", groups, partitions, seconds: result.durationMs / 1000 };
    return {
      groups,
      partitions,
      bulkReset,
      rawCommit: { status: "measured", seconds, commitsPerSec: groups / seconds, concurrency },
    };
  } finally {
    await kafka.close();
  }
}
