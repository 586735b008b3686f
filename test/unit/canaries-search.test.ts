// The canary search (test/support/canaries.ts) finds a planted value in each form it can leak in,
// and refuses a place whose positive control is missing.
import assert from "node:assert/strict";
import { test } from "node:test";
import { LeakSearch } from "../support/canaries.ts";

const canary = "CANARY-secret/value+with=odd chars";

test("a canary is found as written, base64-encoded and URL-encoded, and named with its place", () => {
  for (const form of [canary, Buffer.from(canary).toString("base64"), encodeURIComponent(canary)]) {
    const search = new LeakSearch();
    search.add("clean", "nothing here but the control", "control");
    search.add("leaky", `control … ${form} …`, "control");
    assert.throws(() => search.assertNone({ "the canary": canary }), /the canary found in leaky/);
  }
  const clean = new LeakSearch();
  clean.add("clean", "nothing here but the control", "control");
  assert.equal(clean.assertNone({ "the canary": canary }), "canaries: 1 values × 1 places searched, 0 found");
});

test("a place without its known value, a short canary or nothing to search is refused", () => {
  assert.throws(() => new LeakSearch().add("logs", "", "started"), /positive control/);
  const search = new LeakSearch();
  search.add("logs", "started", "started");
  assert.throws(() => search.assertNone({ short: "abc" }), /distinctive/);
  assert.throws(() => new LeakSearch().assertNone({ "the canary": canary }), /no place/);
});
