import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { setCondition } from "../../engine/k8s/conditions.ts";
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
