// Cron schedules and the one decision every scheduled kind makes: is a run due, for which tick,
// and when is the next one? Three dialects are accepted: standard 5-field cron, 6 fields with
// seconds first, and the existing operator's 7-field form (seconds first, a year last, and
// day-of-week numbered SUN=1 … SAT=7 as in Quartz). Times are UTC unless a time zone is given.
import { CronExpressionParser } from "cron-parser";

export class ScheduleError extends Error {
  readonly reason = "InvalidSchedule";
  override name = "ScheduleError";
}

export interface Schedule {
  /** The first tick strictly after `after`, or undefined when the schedule has no more. */
  next(after: Date): Date | undefined;
  /** The last tick at or before `at`, or undefined. */
  latest(at: Date): Date | undefined;
}

/** Year field of the 7-field form: `*`, a year, a range, or a list of those. */
function yearFilter(field: string, where: string): (year: number) => boolean {
  if (field === "*" || field === "?") return () => true;
  const parts = field.split(",").map((p) => {
    const m = /^(\d{4})(?:-(\d{4}))?$/.exec(p);
    if (!m) throw new ScheduleError(`${where}: year field "${field}" is not a year, a range or a list of them`);
    const from = Number(m[1]);
    const to = Number(m[2] ?? m[1]);
    return (y: number) => y >= from && y <= to;
  });
  return (y) => parts.some((p) => p(y));
}

/** Quartz day-of-week (1 = Sunday … 7 = Saturday) to cron's (0 = Sunday … 6 = Saturday). */
function quartzDayOfWeek(field: string): string {
  return field.replace(/\d+/g, (n, offset: number, whole: string) => {
    // A step (`*/2`, `1-7/2`) keeps its number.
    if (whole[offset - 1] === "/") return n;
    const v = Number(n);
    return String(v >= 1 && v <= 7 ? v - 1 : v);
  });
}

export function parseSchedule(expression: string, timeZone?: string, where = "spec.schedule"): Schedule {
  const fields = expression.trim().split(/\s+/);
  let cron: string;
  let year: (y: number) => boolean = () => true;
  if (fields.length === 1 && fields[0]?.startsWith("@")) cron = fields[0];
  else if (fields.length === 5 || fields.length === 6) cron = fields.join(" ");
  else if (fields.length === 7) {
    year = yearFilter(fields[6] as string, where);
    cron = [...fields.slice(0, 5), quartzDayOfWeek(fields[5] as string)].join(" ").replace(/\?/g, "*");
  } else {
    throw new ScheduleError(
      `${where}: "${expression}" has ${fields.length} fields; use 5 (min hour day month weekday), 6 (seconds first), 7 (seconds first, year last) or @daily-style`,
    );
  }
  if (timeZone) {
    try {
      new Intl.DateTimeFormat("en", { timeZone });
    } catch {
      throw new ScheduleError(`spec.timeZone: "${timeZone}" is not an IANA time zone`);
    }
  }
  const options = timeZone ? { tz: timeZone } : { tz: "UTC" };
  try {
    CronExpressionParser.parse(cron, { ...options, currentDate: new Date(0) });
  } catch (err) {
    throw new ScheduleError(`${where}: "${expression}" is not a valid cron expression: ${(err as Error).message}`);
  }
  const limit = 1000;
  return {
    next(after) {
      const it = CronExpressionParser.parse(cron, { ...options, currentDate: after });
      for (let i = 0; i < limit; i++) {
        let d: Date;
        try {
          d = it.next().toDate();
        } catch {
          return undefined;
        }
        if (year(d.getUTCFullYear())) return d;
      }
      return undefined;
    },
    latest(at) {
      // cron-parser's prev() is strictly before its current date; one millisecond on includes `at`.
      const it = CronExpressionParser.parse(cron, { ...options, currentDate: new Date(at.getTime() + 1) });
      for (let i = 0; i < limit; i++) {
        let d: Date;
        try {
          d = it.prev().toDate();
        } catch {
          return undefined;
        }
        if (year(d.getUTCFullYear())) return d;
      }
      return undefined;
    },
  };
}

export interface Due {
  /** The tick to run now, if any. */
  tick?: Date;
  /** A tick that was due but is past its starting deadline: skipped, to be reported. */
  missed?: Date;
  /** The next tick after now. */
  next?: Date;
}

/**
 * What is due at `now`, given the last tick already run (`anchor`, or the object's creation).
 * Only the latest missed tick runs (never a burst of catch-up runs), and a tick is never due
 * twice: once run, it is the anchor.
 */
export function dueTick(schedule: Schedule, anchor: Date, now: Date, startingDeadlineSeconds?: number): Due {
  const next = schedule.next(now);
  const latest = schedule.latest(now);
  if (!latest || latest.getTime() <= anchor.getTime()) return next ? { next } : {};
  if (startingDeadlineSeconds !== undefined && now.getTime() - latest.getTime() > startingDeadlineSeconds * 1000) {
    return { missed: latest, ...(next ? { next } : {}) };
  }
  return { tick: latest, ...(next ? { next } : {}) };
}
