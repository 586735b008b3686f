import assert from "node:assert/strict";
import { test } from "node:test";
import { dueTick, parseSchedule } from "../../engine/k8s/schedule.ts";

const at = (s: string) => new Date(s);

test("5-, 6- and 7-field schedules give the same daily 02:00 UTC tick", () => {
  for (const expr of ["0 2 * * *", "0 0 2 * * *", "0 0 2 * * * *", "0 0 2 * * ? *"]) {
    const s = parseSchedule(expr);
    assert.equal(s.next(at("2026-11-25T03:00:00Z"))?.toISOString(), "2026-11-26T02:00:00.000Z", expr);
    assert.equal(s.latest(at("2026-11-25T03:00:00Z"))?.toISOString(), "2026-11-25T02:00:00.000Z", expr);
  }
});

test("the 7-field form numbers weekdays from Sunday = 1 and filters years", () => {
  // 2026-11-29 is a Sunday.
  assert.equal(parseSchedule("0 0 1 * * 1 *").next(at("2026-11-25T00:00:00Z"))?.toISOString(), "2026-11-29T01:00:00.000Z");
  assert.equal(parseSchedule("0 0 1 * * 2-6 *").next(at("2026-11-27T02:00:00Z"))?.toISOString(), "2026-11-30T01:00:00.000Z");
  assert.equal(parseSchedule("0 0 0 1 1 * 2028").next(at("2026-11-25T00:00:00Z"))?.toISOString(), "2028-01-01T00:00:00.000Z");
  assert.equal(parseSchedule("*/10 * * * * * *").next(at("2026-11-25T00:00:03Z"))?.toISOString(), "2026-11-25T00:00:10.000Z");
});

test("@daily-style macros work", () => {
  assert.equal(parseSchedule("@daily").next(at("2026-11-25T03:00:00Z"))?.toISOString(), "2026-11-26T00:00:00.000Z");
});

test("time zones are honoured", () => {
  assert.equal(
    parseSchedule("0 2 * * *", "Europe/Berlin").next(at("2026-11-25T00:00:00Z"))?.toISOString(),
    "2026-11-25T01:00:00.000Z",
  );
});

test("bad schedules and zones are refused naming the field", () => {
  assert.throws(() => parseSchedule("* * *"), /spec\.schedule: "\* \* \*" has 3 fields/);
  assert.throws(() => parseSchedule("61 * * * *"), /spec\.schedule: "61 \* \* \* \*" is not a valid cron expression/);
  assert.throws(() => parseSchedule("0 0 2 * * * 20xx"), /year field/);
  assert.throws(() => parseSchedule("0 2 * * *", "Mars/Olympus"), /spec\.timeZone: "Mars\/Olympus"/);
});

test("due: the latest tick after the anchor, once; a missed deadline is skipped", () => {
  const s = parseSchedule("*/10 * * * * *");
  assert.deepEqual(dueTick(s, at("2026-11-25T00:00:00Z"), at("2026-11-25T00:00:05Z")), { next: at("2026-11-25T00:00:10Z") });
  assert.deepEqual(dueTick(s, at("2026-11-25T00:00:00Z"), at("2026-11-25T00:00:10Z")), {
    tick: at("2026-11-25T00:00:10Z"),
    next: at("2026-11-25T00:00:20Z"),
  });
  // Run for that tick: it is the anchor now, so the same instant is not due again.
  assert.equal(dueTick(s, at("2026-11-25T00:00:10Z"), at("2026-11-25T00:00:10.5Z")).tick, undefined);
  // Down for a minute: one catch-up run for the latest tick, not six.
  assert.deepEqual(dueTick(s, at("2026-11-25T00:00:10Z"), at("2026-11-25T00:01:13Z")).tick, at("2026-11-25T00:01:10Z"));
  assert.deepEqual(dueTick(s, at("2026-11-25T00:00:10Z"), at("2026-11-25T00:01:13Z"), 2), {
    missed: at("2026-11-25T00:01:10Z"),
    next: at("2026-11-25T00:01:20Z"),
  });
});
