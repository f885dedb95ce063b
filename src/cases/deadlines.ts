import {
  findDeadline,
  findRoute,
  listCalendarDays,
  type CaseDeadlines,
  type Deadline,
  type Pool,
  type Queryable,
  type Route,
} from '../db/index.js';
import { addDeadline, type WorkingCalendar, type WorkingPeriod } from '../domain/index.js';

const calendarTtlMs = 60_000;

/** The deadline row and route a registration reads (null: none). */
export interface Registration {
  readonly deadline: Deadline | null;
  readonly route: Route | null;
}

/**
 * Deadlines in calendar or working time (decision 0108) over the working
 * calendar of `work_calendar`, cached for a minute.
 */
export function createDeadlineClock(
  pool: Pool,
  timeZone: string,
  periods: readonly WorkingPeriod[],
) {
  let calendarCache: Promise<WorkingCalendar> | null = null;
  let calendarLoadedMs = 0;

  /**
   * The working calendar: holidays and make-up days from `work_calendar`. Reloaded
   * after a change through this node's API, and at least every minute, so a change
   * made through another hub node applies here within a minute.
   */
  function calendar(db: Queryable = pool): Promise<WorkingCalendar> {
    if (calendarCache && performance.now() - calendarLoadedMs < calendarTtlMs) return calendarCache;
    calendarLoadedMs = performance.now();
    // On the caller's connection: inside a transaction, a second one may not be free.
    const loading = listCalendarDays(db).then((days) => ({
      timeZone,
      periods,
      holidays: new Set(days.filter((d) => d.kind === 'holiday').map((d) => d.date)),
      workdays: new Set(days.filter((d) => d.kind === 'workday').map((d) => d.date)),
    }));
    calendarCache = loading;
    // A failed load is retried next time rather than cached.
    loading.catch(() => {
      if (calendarCache === loading) calendarCache = null;
    });
    return loading;
  }
  const deadlineAfter = async (
    db: Queryable,
    startIso: string,
    minutes: number,
    unit: 'calendar' | 'working',
  ) => addDeadline(new Date(startIso), minutes, unit, await calendar(db)).toISOString();
  /** The deadlines of a case registered at `createdAt`; null without a deadline row for it. */
  async function deadlinesOf(
    db: Queryable,
    createdAt: string,
    d: Deadline | null,
  ): Promise<CaseDeadlines | null> {
    if (!d) return null;
    return {
      dueAt: await deadlineAfter(db, createdAt, d.handleMinutes, d.unit),
      unit: d.unit,
      handleMinutes: d.handleMinutes,
      dispatchDueAt: await deadlineAfter(db, createdAt, d.dispatchMinutes, d.dispatchUnit),
    };
  }

  /**
   * What registration reads from the tables, before the transaction (reads
   * need no lock): the deadline row and the route of the new case.
   */
  const registrationOf = (c: {
    severity: string;
    facilityType: string | null;
    gridCode: string | null;
    categoryCode: string;
  }): Promise<Registration> =>
    Promise.all([
      findDeadline(pool, c.severity, c.facilityType),
      findRoute(pool, c.facilityType, c.gridCode, c.categoryCode),
    ]).then(([deadline, route]) => ({ deadline, route }));

  return {
    calendar,
    /** Drops the cached calendar after `/api/calendar` changed it. */
    reloadCalendar(): void {
      calendarCache = null;
    },
    deadlineAfter,
    deadlinesOf,
    registrationOf,
  };
}
