import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { setCondition } from "../../engine/k8s/conditions.ts";
import { WorkRegistry } from "../../engine/k8s/controller.ts";
import { idleCollector, savingMemory } from "../../engine/k8s/idle-gc.ts";
import { slim } from "../../engine/k8s/informer.ts";
import { Backoff, WorkQueue } from "../../engine/k8s/queue.ts";

test("a condition's transition time moves only when its status changes", () => {
  const t1 = new Date("2026-01-01T00:00:00Z");
  const t2 = new Date("2026-01-01T00:01:00Z");
  let c = setCondition([], { type: "Ready", status: "False", reason: "SecretNotFound", message: "a" }, t1);
  c = setCondition(c, { type: "Ready", status: "False", reason: "KafkaUnavailable", message: "b" }, t2);
  assert.equal(c[0]?.lastTransitionTime, t1.toISOString());
  assert.equal(c[0]?.reason, "KafkaUnavailable");
  c = setCondition(c, { type: "Ready", status: "True", reason: "BackupSucceeded", message: "c" }, t2);
  assert.equal(c[0]?.lastTransitionTime, t2.toISOString());
  c = setCondition(c, { type: "Progressing", status: "True", reason: "Running", message: "" }, t2);
  assert.deepEqual(
    c.map((x) => x.type),
    ["Ready", "Progressing"],
  );
});

test("the work queue runs one reconcile per key at a time and coalesces wake-ups", async () => {
  const log: string[] = [];
  let active = 0;
  let maxActivePerKey = 0;
  const q = new WorkQueue(async (key) => {
    active++;
    maxActivePerKey = Math.max(maxActivePerKey, active);
    log.push(key);
    await sleep(30);
    active--;
  }, 1);
  q.add("a");
  q.add("a");
  await sleep(5);
  q.add("a"); // while running: one more run afterwards
  q.add("a");
  await sleep(150);
  assert.deepEqual(log, ["a", "a"]);
  assert.equal(maxActivePerKey, 1);
  q.addAfter("b", 50);
  q.addAfter("b", 10); // the earlier one wins
  await sleep(40);
  assert.deepEqual(log, ["a", "a", "b"]);
  await q.stop();
});

test("backoff doubles per key and resets on success", () => {
  const b = new Backoff(100, 1000);
  const d1 = b.fail("k");
  const d2 = b.fail("k");
  const d5 = [b.fail("k"), b.fail("k"), b.fail("k")].at(-1) ?? 0;
  assert.ok(d1 >= 80 && d1 <= 120);
  assert.ok(d2 >= 160 && d2 <= 240);
  assert.ok(d5 <= 1200);
  b.succeed("k");
  assert.equal(b.count("k"), 0);
  assert.ok(b.fail("other", 30_000) >= 30_000);
});

test("the queue reports idle once the last reconcile ends; the collector runs gc at most once per interval, never while work runs", async () => {
  let idles = 0;
  const queue = new WorkQueue(
    async () => sleep(5),
    2,
    () => idles++,
  );
  queue.add("a");
  queue.add("b");
  await sleep(50);
  assert.equal(idles, 1, "two reconciles in flight together end in one idle");

  const calls: unknown[] = [];
  const g = globalThis as { gc?: unknown };
  const saved = g.gc;
  g.gc = (options: unknown) => {
    calls.push(options);
  };
  try {
    let busy = true;
    const collect = idleCollector(() => busy, 100);
    collect();
    await sleep(20);
    assert.equal(calls.length, 0, "no collection while long work runs");
    busy = false;
    collect();
    collect();
    await sleep(20);
    assert.deepEqual(calls, [{ type: "major", execution: "async" }]);
    assert.ok(savingMemory(), "an idle collection puts V8 in its memory-saving mode");
    const work = new WorkRegistry();
    let finish = () => {};
    work.start("k", () => new Promise<void>((resolve) => (finish = resolve)), new AbortController().signal);
    assert.ok(!savingMemory(), "long work runs at full speed");
    finish();
    collect();
    await sleep(20);
    assert.equal(calls.length, 1, "not again within the interval");
    await sleep(120);
    assert.equal(calls.length, 2, "the idle seen within the interval is collected when it ends");
  } finally {
    g.gc = saved;
  }
});

test("the cache keeps an object without its managedFields and last-applied annotation, the rest as it was", () => {
  const object = {
    apiVersion: "kafka.oso.sh/v1alpha1",
    kind: "KafkaBackup",
    metadata: {
      name: "b",
      namespace: "n",
      uid: "u",
      generation: 2,
      resourceVersion: "7",
      creationTimestamp: "2026-01-01T00:00:00Z",
      finalizers: ["kafka.oso.sh/backup"],
      labels: { team: "a" },
      annotations: {
        "kubectl.kubernetes.io/last-applied-configuration": '{"spec":{}}',
        "kafka.oso.sh/retry": "1",
      },
      managedFields: [{ manager: "kubectl", operation: "Apply", fieldsV1: { "f:spec": {} } }],
    },
    spec: { topics: ["t"] },
    status: { phase: "Ready" },
  };
  const kept = slim(structuredClone(object));
  const { managedFields: _, ...metadata } = object.metadata;
  assert.deepEqual(kept, {
    ...object,
    metadata: { ...metadata, annotations: { "kafka.oso.sh/retry": "1" } },
  });
  const bare = { ...object, metadata };
  delete (bare.metadata as { annotations?: unknown }).annotations;
  assert.deepEqual(slim(structuredClone(bare)), bare);
});
