// The existing operator's 7-field schedule (sec min hour day-of-month month day-of-week year),
// evaluated the way Quartz's CronExpression evaluates it: day-of-week numbered SUN=1 … SAT=7,
// `L` (last day; `L-n`, `LW`), `nW` (nearest weekday, inside the month), `nL` (last such weekday
// of the month), `n#k` (k-th such weekday), `?`, names, ranges that wrap (`FRI-MON`, `22-2`),
// steps (`*/n` starts at the field's minimum), and years. cron-parser numbers weekdays and reads
// `#` differently, so this dialect is not translated into it. Compared with Quartz itself on a
// corpus of expressions by test/integration/schedule-quartz.test.ts.
//
// Where Quartz refuses an expression we accept it with a rule of our own: a day-of-month and a
// day-of-week both restricted (Quartz wants one of them `?`) must both hold, as in the cron crate
// the existing operator used. Times are wall-clock times in the schedule's zone: a time skipped by
// a daylight-saving change fires at the same distance after the change (02:30 → 03:30), and a
// time that occurs twice fires once, the first time.

export class QuartzError extends Error {}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
// Quartz's own horizon: no fire time after 2999.
const LAST_YEAR = 2999;
// Wall times inside a repeated or skipped hour, stepped over one by one (3,600 for a per-second schedule).
const FOLD_STEPS = 100_000;

interface Field {
  name: string;
  min: number;
  max: number;
  names?: string[];
}
const SECOND: Field = { name: "seconds", min: 0, max: 59 };
const MINUTE: Field = { name: "minutes", min: 0, max: 59 };
const HOUR: Field = { name: "hours", min: 0, max: 23 };
const DAY_OF_MONTH: Field = { name: "day-of-month", min: 1, max: 31 };
const MONTH: Field = { name: "month", min: 1, max: 12, names: MONTHS };
const DAY_OF_WEEK: Field = { name: "day-of-week", min: 1, max: 7, names: DAYS };
const YEAR: Field = { name: "year", min: 1970, max: LAST_YEAR };

function value(text: string, field: Field): number {
  const named = field.names?.indexOf(text) ?? -1;
  if (named >= 0) return named + 1;
  if (!/^\d+$/.test(text)) throw new QuartzError(`${field.name} field: "${text}" is not a number or name`);
  const v = Number(text);
  if (v < field.min || v > field.max) {
    throw new QuartzError(`${field.name} field: ${v} is outside ${field.min}-${field.max}`);
  }
  return v;
}

/** `*`, `a`, `a-b`, `a/n`, `a-b/n`, `*\/n`, comma-separated; a range whose end is before its start wraps. */
function valueSet(text: string, field: Field): Set<number> {
  const out = new Set<number>();
  for (const item of text.split(",")) {
    const m = /^([^/-]+)(?:-([^/]+))?(?:\/(\d+))?$/.exec(item);
    if (!m) throw new QuartzError(`${field.name} field: "${item}" is not a value, range or step`);
    const step = m[3] === undefined ? 1 : Number(m[3]);
    if (step < 1 || step > field.max - (field.min === 0 ? 0 : 1) + 1) {
      throw new QuartzError(`${field.name} field: step ${m[3]} is out of range`);
    }
    let start: number;
    let end: number;
    if (m[1] === "*") {
      if (m[2] !== undefined) throw new QuartzError(`${field.name} field: "${item}" is not a value, range or step`);
      start = field.min;
      end = field.max;
    } else {
      start = value(m[1] as string, field);
      end = m[2] !== undefined ? value(m[2], field) : m[3] !== undefined ? field.max : start;
    }
    if (end < start) {
      if (field === YEAR) throw new QuartzError(`${field.name} field: range "${item}" ends before it starts`);
      // Wraps: 22-2 is 22,23,0,1,2; FRI-MON is FRI,SAT,SUN,MON.
      const span = field.max - field.min + 1;
      end += span;
      for (let v = start; v <= end; v += step) out.add(v > field.max ? v - span : v);
    } else {
      for (let v = start; v <= end; v += step) out.add(v);
    }
  }
  return out;
}

type DayRule = (year: number, month: number) => number[];

const lastDayOf = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();
/** 1 = Sunday … 7 = Saturday. */
const weekday = (year: number, month: number, day: number) => new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1;

/** The weekday nearest to `day` without leaving the month (Quartz's `W`). */
function nearestWeekday(year: number, month: number, day: number): number {
  const last = lastDayOf(year, month);
  const dow = weekday(year, month, day);
  if (dow === 7) return day === 1 ? 3 : day - 1;
  if (dow === 1) return day === last ? day - 2 : day + 1;
  return day;
}

function dayOfMonthRule(text: string): DayRule | undefined {
  if (text === "*" || text === "?") return undefined;
  const last = /^L(?:-(\d+))?(W)?$/.exec(text);
  if (last) {
    const offset = last[1] === undefined ? 0 : Number(last[1]);
    if (offset > 30) throw new QuartzError(`day-of-month field: offset from the last day must be at most 30 ("${text}")`);
    return (y, m) => {
      const day = lastDayOf(y, m) - offset;
      if (day < 1) return [];
      return [last[2] ? nearestWeekday(y, m, day) : day];
    };
  }
  const weekdayOf = /^(\d+)W$/.exec(text);
  if (weekdayOf) {
    const day = value(weekdayOf[1] as string, DAY_OF_MONTH);
    return (y, m) => (day > lastDayOf(y, m) ? [] : [nearestWeekday(y, m, day)]);
  }
  if (/[LW#]/.test(text)) {
    throw new QuartzError(`day-of-month field: "${text}" mixes L or W with other values; use one of L, L-n, LW, nW alone`);
  }
  const days = [...valueSet(text, DAY_OF_MONTH)].sort((a, b) => a - b);
  return (y, m) => {
    const last = lastDayOf(y, m);
    return days.filter((d) => d <= last);
  };
}

function dayOfWeekRule(text: string): DayRule | undefined {
  if (text === "*" || text === "?") return undefined;
  const lastOf = /^([A-Z0-9]+)L$/.exec(text);
  if (lastOf) {
    const dow = value(lastOf[1] as string, DAY_OF_WEEK);
    return (y, m) => {
      const last = lastDayOf(y, m);
      return [last - ((weekday(y, m, last) - dow + 7) % 7)];
    };
  }
  const nth = /^([A-Z0-9]+)#(\d+)$/.exec(text);
  if (nth) {
    const dow = value(nth[1] as string, DAY_OF_WEEK);
    const k = Number(nth[2]);
    if (k < 1 || k > 5) throw new QuartzError(`day-of-week field: "#${nth[2]}" must be 1-5 ("${text}")`);
    return (y, m) => {
      const day = 1 + ((dow - weekday(y, m, 1) + 7) % 7) + (k - 1) * 7;
      return day > lastDayOf(y, m) ? [] : [day];
    };
  }
  // No day name ends in L, so an item ending in L is `nL` (or `L`, Saturday).
  if (text !== "L" && text.split(",").some((item) => item.endsWith("L") || item.includes("#"))) {
    throw new QuartzError(`day-of-week field: "${text}" mixes L or # with other values; use nL or n#k alone`);
  }
  // `L` alone is the last day of the week: Saturday.
  const days = text === "L" ? new Set([7]) : valueSet(text, DAY_OF_WEEK);
  return (y, m) => {
    const out: number[] = [];
    for (let d = 1, last = lastDayOf(y, m); d <= last; d++) if (days.has(weekday(y, m, d))) out.push(d);
    return out;
  };
}

/** Wall-clock time as fields; month 1-12. */
interface Wall {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

const wallMs = (w: Wall) => Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s);
function wallOfMs(ms: number): Wall {
  const t = new Date(ms);
  return {
    y: t.getUTCFullYear(),
    mo: t.getUTCMonth() + 1,
    d: t.getUTCDate(),
    h: t.getUTCHours(),
    mi: t.getUTCMinutes(),
    s: t.getUTCSeconds(),
  };
}

/** Converts between instants and wall-clock time in one IANA zone. */
class Zone {
  private readonly format?: Intl.DateTimeFormat;
  constructor(timeZone: string) {
    if (timeZone !== "UTC") {
      this.format = new Intl.DateTimeFormat("en-US", {
        timeZone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
    }
  }
  /** Wall-clock time at `ms`, as milliseconds of a UTC calendar (seconds precision). */
  wallAt(ms: number): number {
    const whole = Math.floor(ms / 1000) * 1000;
    if (!this.format) return whole;
    const p: Record<string, number> = {};
    for (const part of this.format.formatToParts(new Date(whole))) p[part.type] = Number(part.value);
    return Date.UTC(p.year as number, (p.month as number) - 1, p.day, p.hour, p.minute, p.second);
  }
  private offset(ms: number): number {
    return this.wallAt(ms) - Math.floor(ms / 1000) * 1000;
  }
  /** The first instant showing wall time `wall`; a wall time skipped by a DST change lands after it. */
  instant(wall: number): number {
    if (!this.format) return wall;
    const before = this.offset(wall - 86_400_000);
    const after = this.offset(wall + 86_400_000);
    const candidates = [wall - before, wall - after].filter((t) => this.wallAt(t) === wall);
    if (candidates.length) return Math.min(...candidates);
    return wall - before;
  }
}

export interface QuartzSchedule {
  next(after: Date): Date | undefined;
  latest(at: Date): Date | undefined;
}

export function parseQuartz(expression: string, timeZone = "UTC"): QuartzSchedule {
  const fields = expression.trim().toUpperCase().split(/\s+/);
  if (fields.length !== 7) throw new QuartzError(`expected 7 fields, got ${fields.length}`);
  const [sec, min, hour, dom, month, dow, year] = fields as [string, string, string, string, string, string, string];
  for (const [text, field] of [
    [sec, SECOND],
    [min, MINUTE],
    [hour, HOUR],
    [month, MONTH],
  ] as const) {
    if (text === "?") throw new QuartzError(`${field.name} field: "?" is only for day-of-month or day-of-week`);
  }
  const seconds = [...valueSet(sec, SECOND)].sort((a, b) => a - b);
  const minutes = [...valueSet(min, MINUTE)].sort((a, b) => a - b);
  const hours = [...valueSet(hour, HOUR)].sort((a, b) => a - b);
  const months = [...valueSet(month, MONTH)].sort((a, b) => a - b);
  const years = year === "*" || year === "?" ? undefined : valueSet(year, YEAR);
  const byMonth = dayOfMonthRule(dom);
  const byWeek = dayOfWeekRule(dow);
  const days: DayRule = (y, m) => {
    const a = byMonth?.(y, m);
    const b = byWeek?.(y, m);
    if (a && b) return a.filter((d) => b.includes(d));
    if (a) return [...new Set(a)].sort((x, z) => x - z);
    if (b) return b;
    return Array.from({ length: lastDayOf(y, m) }, (_, i) => i + 1);
  };
  const lastYear = years ? Math.max(...years) : LAST_YEAR;
  const firstYear = years ? Math.min(...years) : YEAR.min;
  const yearOk = (y: number) => !years || years.has(y);
  const times: Array<[number, number, number]> = [];
  // Few enough in any real schedule (86,400 at most) to list once, sorted.
  for (const h of hours) for (const mi of minutes) for (const s of seconds) times.push([h, mi, s]);
  const timeKey = (t: readonly [number, number, number]) => t[0] * 3600 + t[1] * 60 + t[2];

  /** The first matching wall time at or after `from`. */
  function forward(from: Wall): Wall | undefined {
    for (let y = Math.max(from.y, firstYear); y <= lastYear; y++) {
      if (!yearOk(y)) continue;
      for (const mo of months) {
        if (y === from.y && mo < from.mo) continue;
        for (const d of days(y, mo)) {
          const sameDay = y === from.y && mo === from.mo && d === from.d;
          if (y === from.y && mo === from.mo && d < from.d) continue;
          const bound = sameDay ? from.h * 3600 + from.mi * 60 + from.s : 0;
          const t = times.find((x) => timeKey(x) >= bound);
          if (t) return { y, mo, d, h: t[0], mi: t[1], s: t[2] };
        }
      }
    }
    return undefined;
  }

  /** The last matching wall time at or before `from`. */
  function backward(from: Wall): Wall | undefined {
    for (let y = Math.min(from.y, lastYear); y >= firstYear; y--) {
      if (!yearOk(y)) continue;
      for (const mo of [...months].reverse()) {
        if (y === from.y && mo > from.mo) continue;
        for (const d of [...days(y, mo)].reverse()) {
          if (y === from.y && mo === from.mo && d > from.d) continue;
          const sameDay = y === from.y && mo === from.mo && d === from.d;
          const bound = sameDay ? from.h * 3600 + from.mi * 60 + from.s : 86_400;
          const t = times.findLast((x) => timeKey(x) <= bound);
          if (t) return { y, mo, d, h: t[0], mi: t[1], s: t[2] };
        }
      }
    }
    return undefined;
  }

  const zone = new Zone(timeZone);
  return {
    next(after) {
      // Wall-clock arithmetic, so a time skipped by a DST change is still found (and fires late).
      let from = zone.wallAt(after.getTime()) + 1000;
      for (let i = 0; i < FOLD_STEPS; i++) {
        const w = forward(wallOfMs(from));
        if (!w) return undefined;
        const at = zone.instant(wallMs(w));
        // A wall time that repeats (DST ends) fires once: its first instant may be before `after`.
        if (at > after.getTime()) return new Date(at);
        from = wallMs(w) + 1000;
      }
      return undefined;
    },
    latest(at) {
      let from = zone.wallAt(at.getTime());
      for (let i = 0; i < FOLD_STEPS; i++) {
        const w = backward(wallOfMs(from));
        if (!w) return undefined;
        const t = zone.instant(wallMs(w));
        // A skipped wall time fires after the change, possibly later than `at`.
        if (t <= at.getTime()) return new Date(t);
        from = wallMs(w) - 1000;
      }
      return undefined;
    },
  };
}
