// The existing operator's 7-field schedules are Quartz expressions: our evaluator
// (engine/k8s/quartz.ts, through parseSchedule) must give the same next 1,000 fire times as
// Quartz's own CronExpression (org.quartz-scheduler:quartz from Maven Central, resolved once into
// the stack's cache and run with java), for a corpus covering L, W, #, ?, names, ranges that wrap,
// steps and years. `latest` is checked against the same list (Quartz has no getTimeBefore).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { parseSchedule } from "../../engine/k8s/schedule.ts";
import { repoRoot, stackConfig, versions } from "../stack/config.ts";
import { ensureMavenJars } from "../stack/tools.ts";

const COUNT = 1000;

const corpus: Array<{ expression: string; timeZone?: string; start?: string }> = [
  // The defect: the third Friday, not the second.
  { expression: "0 0 2 ? * 6#3 *" },
  { expression: "0 0 2 ? * FRI#3 *" },
  { expression: "0 30 9 ? * 2#1 *" },
  { expression: "0 0 12 ? * 1#5 *" },
  { expression: "0 0 12 ? * 7#4 *", start: "2026-02-28T11:00:00Z" },
  // Last day, offsets from it, nearest weekday.
  { expression: "0 0 0 L * ? *" },
  { expression: "0 0 0 L-3 * ? *" },
  { expression: "0 0 0 L-30 * ? *" },
  { expression: "0 15 10 LW * ? *" },
  { expression: "0 0 6 15W * ? *" },
  { expression: "0 0 6 1W * ? *" },
  { expression: "0 0 6 31W * ? *" },
  { expression: "0 0 6 30 * ? *" },
  // Last weekday of the month, L alone (Saturday).
  { expression: "0 0 23 ? * 6L *" },
  { expression: "0 0 1 ? * 2L *" },
  { expression: "0 0 23 ? * L *" },
  // Ranges (also wrapping), steps, lists, names.
  { expression: "0 0 2 ? * MON-FRI *" },
  { expression: "0 0/15 8-17 ? * MON-FRI *" },
  { expression: "0 0 22 ? * FRI-MON *" },
  { expression: "0 0 22-2 * * ? *" },
  { expression: "*/20 5/7 1-23/4 * * ? *" },
  { expression: "15,45 * * * * ? *" },
  { expression: "0 0 0 1/5 * ? *" },
  { expression: "0 0 0 ? 1/3 2/3 *" },
  { expression: "0 0 0 ? * */2 *" },
  { expression: "0 0 0 1 JAN,JUL ? *" },
  { expression: "0 0 12 * NOV-FEB ? *" },
  { expression: "0 0 0 29 2 ? *" },
  { expression: "0 0 0 ? * sun *" },
  // Years.
  { expression: "0 0 0 1 * ? 2026-2030" },
  { expression: "0 0 12 ? * 1,7 2027,2029" },
  { expression: "0 0 0 L 2 ? 2028/4" },
  { expression: "0 0 2 * * ? 2025" },
  // Wall-clock time in a zone (hours that no DST change touches).
  { expression: "0 30 9 ? * MON-FRI *", timeZone: "Europe/Berlin" },
  { expression: "0 0 18 L * ? *", timeZone: "America/New_York" },
  { expression: "0 0 8 ? * 2#2 *", timeZone: "Asia/Kolkata" },
  // Across the spring DST change. Two deliberate differences are not here (test/unit/
  // k8s-schedule.test.ts pins ours): a wall time the change skips (a daily 02:30) fires at 03:30
  // with us and not at all with Quartz (a backup should not silently skip a day a year); a wall
  // time the autumn change repeats fires at its first occurrence with us, at its second with
  // Quartz (which leaves an hour without ticks before it).
  { expression: "0 */20 * * * ? *", timeZone: "Europe/Berlin", start: "2026-03-28T22:00:00Z" },
];

function quartzFireTimes(): string[] {
  const lib = ensureMavenJars(
    stackConfig(),
    { groupId: "org.quartz-scheduler", artifactId: "quartz", version: versions.quartz },
    (line) => console.error(line),
  );
  const input = corpus
    .map((c) => [c.timeZone ?? "UTC", Date.parse(c.start ?? "2026-01-01T00:00:00Z"), COUNT, c.expression].join("\t"))
    .join("\n");
  const out = execFileSync("java", ["-cp", `${lib}/*`, join(repoRoot, "test/fixtures/QuartzFireTimes.java")], {
    input,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  const lines = out.split("\n").slice(0, corpus.length);
  assert.equal(lines.length, corpus.length);
  return lines;
}

test("7-field schedules fire when Quartz fires them, 1,000 times each", () => {
  const lines = quartzFireTimes();
  const differences: string[] = [];
  for (const [i, c] of corpus.entries()) {
    const where = `${c.expression}${c.timeZone ? ` in ${c.timeZone}` : ""}`;
    const line = lines[i] as string;
    if (line.startsWith("ERROR")) {
      differences.push(`Quartz refused ${where}: ${line}`);
      continue;
    }
    const expected = line ? line.split(",").map(Number) : [];
    const schedule = parseSchedule(c.expression, c.timeZone);
    const ours: number[] = [];
    let at: Date | undefined = new Date(c.start ?? "2026-01-01T00:00:00Z");
    while (ours.length < COUNT) {
      at = schedule.next(at);
      // Quartz stops at 100 years from now (its MAX_YEAR); ours goes on to 2999.
      if (!at || at.getUTCFullYear() > new Date().getUTCFullYear() + 100) break;
      ours.push(at.getTime());
    }
    const k = ours.findIndex((t, j) => t !== expected[j]);
    if (k !== -1 || ours.length !== expected.length) {
      const j = k === -1 ? Math.min(ours.length, expected.length) : k;
      differences.push(`${where}: fire time ${j}: ours ${iso(ours[j])}, Quartz ${iso(expected[j])}`);
      continue;
    }
    // The latest tick at or before a fire time is that fire time; a millisecond earlier, the one before.
    for (let j = 1; j < expected.length; j += Math.max(1, Math.floor(expected.length / 50))) {
      const t = expected[j] as number;
      const latest = schedule.latest(new Date(t))?.getTime();
      const before = schedule.latest(new Date(t - 1))?.getTime();
      if (latest !== t || before !== expected[j - 1]) {
        differences.push(`${where}: latest at ${iso(t)} is ${iso(latest)}, just before it ${iso(before)}`);
        break;
      }
    }
  }
  assert.deepEqual(differences, []);
});

test("the reported case: 0 0 2 ? * 6#3 * is the third Friday", () => {
  const s = parseSchedule("0 0 2 ? * 6#3 *");
  assert.equal(s.next(new Date("2026-01-01T00:00:00Z"))?.toISOString(), "2026-01-16T02:00:00.000Z");
  assert.equal(s.next(new Date("2026-01-16T02:00:00Z"))?.toISOString(), "2026-02-20T02:00:00.000Z");
});

const iso = (t: number | undefined) => (t === undefined ? "none" : new Date(t).toISOString());
