import assert from "node:assert/strict";
import { test } from "node:test";
import { CronExpressionParser } from "cron-parser";
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

test("7-field: the third Friday is 6#3, and L, W and wrapping ranges are Quartz's", () => {
  const next = (expr: string, after: string) => parseSchedule(expr).next(at(after))?.toISOString();
  assert.equal(next("0 0 2 ? * 6#3 *", "2026-01-01T00:00:00Z"), "2026-01-16T02:00:00.000Z");
  assert.equal(next("0 0 2 ? * FRI#3 *", "2026-01-01T00:00:00Z"), "2026-01-16T02:00:00.000Z");
  assert.equal(next("0 0 2 ? * 6L *", "2026-01-01T00:00:00Z"), "2026-01-30T02:00:00.000Z");
  // 2026-02-15 is a Sunday: the nearest weekday is Monday the 16th; 2026-02-28 a Saturday: Friday the 27th.
  assert.equal(next("0 0 2 15W * ? *", "2026-02-01T00:00:00Z"), "2026-02-16T02:00:00.000Z");
  assert.equal(next("0 0 2 LW * ? *", "2026-02-01T00:00:00Z"), "2026-02-27T02:00:00.000Z");
  assert.equal(next("0 0 2 L-2 * ? *", "2026-02-01T00:00:00Z"), "2026-02-26T02:00:00.000Z");
  assert.equal(next("0 0 22-1 * * ? *", "2026-02-01T23:30:00Z"), "2026-02-02T00:00:00.000Z");
  // Both days restricted (Quartz refuses this): both must hold. Friday the 13th, 2026-02-13.
  assert.equal(next("0 0 2 13 * FRI *", "2026-01-01T00:00:00Z"), "2026-02-13T02:00:00.000Z");
  assert.throws(() => parseSchedule("0 0 2 ? * 6#6 *"), /spec\.schedule: .*day-of-week field/);
  assert.throws(() => parseSchedule("0 0 2 L,3 * ? *"), /day-of-month field/);
});

test("7-field in a zone: a time skipped by DST fires after the change, a repeated one once", () => {
  const s = parseSchedule("0 30 2 * * ? *", "Europe/Berlin");
  // 2026-03-29 02:00 CET → 03:00 CEST: 02:30 does not exist; it fires at 03:30 CEST.
  assert.equal(s.next(at("2026-03-28T12:00:00Z"))?.toISOString(), "2026-03-29T01:30:00.000Z");
  assert.equal(s.latest(at("2026-03-29T01:29:59Z"))?.toISOString(), "2026-03-28T01:30:00.000Z");
  assert.equal(s.latest(at("2026-03-29T01:30:00Z"))?.toISOString(), "2026-03-29T01:30:00.000Z");
  assert.equal(s.next(at("2026-03-29T01:30:00Z"))?.toISOString(), "2026-03-30T00:30:00.000Z");
  // 2026-10-25 03:00 CEST → 02:00 CET: 02:30 happens twice; it fires the first time only.
  assert.equal(s.next(at("2026-10-24T12:00:00Z"))?.toISOString(), "2026-10-25T00:30:00.000Z");
  assert.equal(s.next(at("2026-10-25T00:30:00Z"))?.toISOString(), "2026-10-26T01:30:00.000Z");
  assert.equal(s.latest(at("2026-10-25T01:45:00Z"))?.toISOString(), "2026-10-25T00:30:00.000Z");
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

test("a schedule remembers the span between two ticks and answers as cron does, in any order of instants", () => {
  const s = parseSchedule("0 0 29 2 *");
  const again = parseSchedule("0 0 29 2 *", undefined, "spec.other");
  assert.equal(again, s, "one parsed schedule per expression and time zone");
  const cron = (at: Date) => ({
    next: CronExpressionParser.parse("0 0 29 2 *", { tz: "UTC", currentDate: at }).next().toDate(),
    latest: CronExpressionParser.parse("0 0 29 2 *", { tz: "UTC", currentDate: new Date(at.getTime() + 1) })
      .prev()
      .toDate(),
  });
  const instants = [
    "2026-12-03T19:00:00Z",
    "2028-02-29T00:00:00Z",
    "2026-12-03T19:00:01Z",
    "2028-02-28T23:59:59.999Z",
    "2024-02-29T00:00:00Z",
    "2028-03-01T00:00:00Z",
    "2027-06-01T00:00:00Z",
  ].map((t) => new Date(t));
  for (const at of instants) {
    assert.deepEqual({ next: s.next(at), latest: s.latest(at) }, cron(at), at.toISOString());
  }
});
