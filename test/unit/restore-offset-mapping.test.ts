// The offset mapping: runs built from observed records, translation of a group's commits (first
// restored record at or after; past the end → the partition end; never a guess), anchors that
// survive truncated runs, and the lanes that let target partitions be written in parallel.
import assert from "node:assert/strict";
import { test } from "node:test";
import { OffsetMappingBuilder, translateGroup, translateInPartition } from "../../engine/restore/offset-mapping.ts";
import type { PartitionPlan, RestorePlan } from "../../engine/restore/plan.ts";
import { restoreLanes } from "../../engine/restore/plan.ts";

test("runs compress consecutive offsets; holes start new runs", () => {
  const b = new OffsetMappingBuilder();
  // Source offsets 10..14, a hole (compaction), then 20..21; target offsets from 100.
  const source = [10, 11, 12, 13, 14, 20, 21];
  for (const [i, o] of source.entries()) b.observe("t", 0, o, 1000 + i, "t2", 0, 100 + i);
  const [m] = b.partitions();
  assert.deepEqual(m?.runs, [
    [10, 100, 5],
    [20, 105, 2],
  ]);
  assert.equal(m?.records, 7);
  assert.deepEqual([m?.sourceFirstOffset, m?.sourceLastOffset, m?.targetFirstOffset, m?.targetLastOffset], [10, 21, 100, 106]);
  if (!m) return;
  // Before the first restored record → the first; inside a run → exact; in a hole → the next
  // restored record; past the last → the partition's end.
  assert.equal(translateInPartition(m, 0, 107), 100);
  assert.equal(translateInPartition(m, 12, 107), 102);
  assert.equal(translateInPartition(m, 15, 107), 105);
  assert.equal(translateInPartition(m, 21, 107), 106);
  assert.equal(translateInPartition(m, 22, 107), 107);
});

test("past the run bound a partition keeps only anchors, and never guesses", () => {
  const b = new OffsetMappingBuilder(2);
  b.anchor("t", 0, 7);
  // Every other offset: each record starts a run.
  for (let i = 0; i < 6; i++) b.observe("t", 0, i * 2, 0, "t", 0, i);
  const [m] = b.partitions();
  assert.equal(m?.runsTruncated, true);
  assert.deepEqual(m?.runs, []);
  if (!m) return;
  assert.equal(translateInPartition(m, 7, 6), 4, "the anchor: offset 8 was written at 4");
  assert.equal(translateInPartition(m, 5, 6), undefined, "no anchor, no runs: no answer");
  assert.equal(translateInPartition(m, 0, 6), 0);
  assert.equal(translateInPartition(m, 11, 6), 6);
});

test("a group's translation takes the smallest offset per target partition; partitions the restore did not write are left out", () => {
  const b = new OffsetMappingBuilder();
  // Two source partitions into one target partition: p0's 0..9 at 0..9, then p1's 0..9 at 10..19.
  for (let i = 0; i < 10; i++) b.observe("t", 0, i, 0, "r", 0, i);
  for (let i = 0; i < 10; i++) b.observe("t", 1, i, 0, "r", 0, 10 + i);
  b.declare("t", 2, "r", 1); // fed nothing: commits there go to the end
  const { target, untranslatable } = translateGroup({ partitions: b.partitions(), targetEnds: { "r/0": 20, "r/1": 0 } }, [
    { sourceTopic: "t", sourcePartition: 0, sourceOffset: 4 },
    { sourceTopic: "t", sourcePartition: 1, sourceOffset: 8 },
    { sourceTopic: "t", sourcePartition: 2, sourceOffset: 50 },
    { sourceTopic: "gone", sourcePartition: 0, sourceOffset: 1 },
  ]);
  assert.deepEqual(target, [
    { topic: "r", partition: 0, offset: 4 },
    { topic: "r", partition: 1, offset: 0 },
  ]);
  assert.deepEqual(untranslatable, []);
});

test("lanes never share a target partition, and keep one order", () => {
  const p = (sourceTopic: string, sourcePartition: number, targetTopic: string, routing: PartitionPlan["routing"]) =>
    ({ sourceTopic, sourcePartition, targetTopic, routing, segments: [], recordsUpperBound: 0 }) as PartitionPlan;
  const plan = {
    window: {},
    targetTopics: [],
    partitions: [
      p("a", 1, "a2", { kind: "partition", partition: 1 }),
      p("a", 0, "a2", { kind: "partition", partition: 1 }),
      p("a", 2, "a2", { kind: "partition", partition: 2 }),
      p("b", 0, "b2", { kind: "byKey", partitions: 4 }),
      p("b", 1, "b2", { kind: "byKey", partitions: 4 }),
    ],
  } satisfies RestorePlan;
  const lanes = restoreLanes(plan).map((lane) => lane.map((x) => `${x.sourceTopic}/${x.sourcePartition}`));
  assert.deepEqual(lanes, [["a/0", "a/1"], ["a/2"], ["b/0", "b/1"]]);
});
