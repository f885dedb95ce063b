/**
 * Working time for case deadlines (domain.md, "Deadlines": "1 working hour",
 * "3 working days"): pure functions of a calendar in the city's time zone,
 * with working periods of a day, weekends off, public holidays off and
 * make-up working days (调休) on. Decision 0108.
 */

/** A working period of a day, in minutes after local midnight: [start, end). */
export interface WorkingPeriod {
  readonly start: number;
  readonly end: number;
}

export interface WorkingCalendar {
  /** IANA time zone of the city (CITY_TIMEZONE). */
  readonly timeZone: string;
  /** Ascending, not overlapping (WORKING_HOURS). */
  readonly periods: readonly WorkingPeriod[];
  /** Local dates (YYYY-MM-DD) off although a weekday: public holidays. */
  readonly holidays: ReadonlySet<string>;
  /** Local dates (YYYY-MM-DD) worked although a weekend day: 调休 make-up working days. */
  readonly workdays: ReadonlySet<string>;
}

export type DeadlineUnit = 'calendar' | 'working';
export const deadlineUnits: readonly DeadlineUnit[] = ['calendar', 'working'];

const minute = 60_000;
/** Ten years of days: a calendar with no working day in it is a configuration error. */
const maxDays = 3700;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Why `timeZone` is not a usable IANA time zone, or null. */
export function timeZoneProblem(timeZone: string): string | null {
  try {
    formatter(timeZone);
    return null;
  } catch {
    return `CITY_TIMEZONE must be an IANA time zone such as Asia/Shanghai (got ${JSON.stringify(timeZone)})`;
  }
}

interface LocalDay {
  readonly y: number;
  readonly m: number;
  readonly d: number;
}

/** The local date at `ms`, and the zone's offset from UTC there (ms). */
function localAt(ms: number, timeZone: string): LocalDay & { offsetMs: number } {
  const p: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  }
  const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return { y: p.year!, m: p.month!, d: p.day!, offsetMs: wall - Math.floor(ms / 1000) * 1000 };
}

/** The zone's offset from UTC at `ms`, in ms (Asia/Shanghai: 8 h). */
export function utcOffsetMs(ms: number, timeZone: string): number {
  return localAt(ms, timeZone).offsetMs;
}

/** The local date (YYYY-MM-DD) at `ms` in `timeZone`. */
export function localDateOf(ms: number, timeZone: string): string {
  return isoDate(localAt(ms, timeZone));
}

/** The instant local midnight of `date` (YYYY-MM-DD) begins in `timeZone`. */
export function startOfLocalDate(date: string, timeZone: string): Date {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(instantOf({ y, m, d }, 0, timeZone));
}

/** The instant of local `minutes` after midnight of `day` (offset taken at that instant). */
function instantOf(day: LocalDay, minutes: number, timeZone: string): number {
  const wall = Date.UTC(day.y, day.m - 1, day.d, 0, minutes);
  const first = wall - localAt(wall, timeZone).offsetMs;
  return wall - localAt(first, timeZone).offsetMs;
}

function nextDay(day: LocalDay): LocalDay {
  const t = new Date(Date.UTC(day.y, day.m - 1, day.d + 1));
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

export function isoDate(day: LocalDay): string {
  return `${day.y}-${String(day.m).padStart(2, '0')}-${String(day.d).padStart(2, '0')}`;
}

/** Monday to Friday, unless a holiday; Saturday and Sunday only as make-up working days. */
export function isWorkingDay(date: string, cal: WorkingCalendar): boolean {
  if (cal.workdays.has(date)) return true;
  if (cal.holidays.has(date)) return false;
  const weekday = new Date(date + 'T00:00:00Z').getUTCDay();
  return weekday !== 0 && weekday !== 6;
}

/** The working periods of each local day from the one containing `fromMs`, as instants. */
function* workingIntervals(fromMs: number, cal: WorkingCalendar): Generator<[number, number]> {
  if (cal.periods.length === 0) throw new Error('the working calendar has no working periods');
  let day: LocalDay = localAt(fromMs, cal.timeZone);
  for (let i = 0; i < maxDays; i++, day = nextDay(day)) {
    if (!isWorkingDay(isoDate(day), cal)) continue;
    for (const p of cal.periods) {
      yield [instantOf(day, p.start, cal.timeZone), instantOf(day, p.end, cal.timeZone)];
    }
  }
  throw new Error(`no working day within ${maxDays} days of ${new Date(fromMs).toISOString()}`);
}

/**
 * The instant `minutes` of working time after `start`. Time outside working
 * periods does not count; zero minutes is `start` itself.
 */
export function addWorkingTime(start: Date, minutes: number, cal: WorkingCalendar): Date {
  const startMs = start.getTime();
  let remaining = minutes * minute;
  if (!(remaining > 0)) return new Date(startMs);
  for (const [from, to] of workingIntervals(startMs, cal)) {
    const begin = Math.max(from, startMs);
    if (begin >= to) continue;
    if (remaining <= to - begin) return new Date(begin + remaining);
    remaining -= to - begin;
  }
  /* c8 ignore next */
  throw new Error('unreachable');
}

/** Working minutes between `a` and `b`; negative when `b` is before `a`. */
export function workingTimeBetween(a: Date, b: Date, cal: WorkingCalendar): number {
  const aMs = a.getTime();
  const bMs = b.getTime();
  if (bMs < aMs) return -workingTimeBetween(b, a, cal);
  let total = 0;
  for (const [from, to] of workingIntervals(aMs, cal)) {
    if (from >= bMs) break;
    total += Math.max(0, Math.min(to, bMs) - Math.max(from, aMs));
  }
  return total / minute;
}

/** A deadline `minutes` after `start`, in calendar or working time. */
export function addDeadline(
  start: Date,
  minutes: number,
  unit: DeadlineUnit,
  cal: WorkingCalendar,
): Date {
  return unit === 'working'
    ? addWorkingTime(start, minutes, cal)
    : new Date(start.getTime() + minutes * minute);
}

/** Working minutes in one working day (default hours: 450, 7.5 h). */
export function workingDayMinutes(cal: Pick<WorkingCalendar, 'periods'>): number {
  return cal.periods.reduce((sum, p) => sum + p.end - p.start, 0);
}

const hhmm = (s: string): number => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));

/** Why a WORKING_HOURS value (e.g. `08:30-12:00,13:30-17:30`) is unusable, or null. */
export function workingPeriodsProblem(spec: string): string | null {
  const parts = spec.split(',');
  let last = -1;
  for (const part of parts) {
    const m = /^(\d\d:\d\d)-(\d\d:\d\d)$/.exec(part.trim());
    if (!m) return `WORKING_HOURS: "${part}" is not HH:MM-HH:MM`;
    const start = hhmm(m[1]!);
    const end = hhmm(m[2]!);
    if (Number(m[1]!.slice(3)) > 59 || Number(m[2]!.slice(3)) > 59 || end > 24 * 60) {
      return `WORKING_HOURS: "${part}" is not a time of day`;
    }
    if (start >= end) return `WORKING_HOURS: "${part}" ends before it starts`;
    if (start < last) return `WORKING_HOURS: periods must be ascending and not overlap`;
    last = end;
  }
  return null;
}

/** Parses WORKING_HOURS; throws on a value `workingPeriodsProblem` refuses. */
export function parseWorkingPeriods(spec: string): WorkingPeriod[] {
  const problem = workingPeriodsProblem(spec);
  if (problem) throw new Error(problem);
  return spec.split(',').map((part) => {
    const [a, b] = part.trim().split('-');
    return { start: hhmm(a!), end: hhmm(b!) };
  });
}
