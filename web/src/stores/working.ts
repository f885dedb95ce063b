import {
  workingTimeBetween,
  type WorkingCalendar,
  type WorkingPeriod,
} from '@domain/working-time.js';

/** GET /api/calendar as the domain's calendar (decision 0108): for a countdown in working time. */
export interface CalendarResponse {
  readonly timeZone: string;
  /** `HH:MM` local times (docs/api.md, GET /api/calendar). */
  readonly workingHours: readonly { start: string; end: string }[];
  readonly days: readonly { date: string; kind: 'holiday' | 'workday' }[];
}

const minutesOf = (hhmm: string): number => {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
};

export function calendarFrom(r: CalendarResponse): WorkingCalendar {
  return {
    timeZone: r.timeZone,
    periods: r.workingHours.map((p): WorkingPeriod => ({
      start: minutesOf(p.start),
      end: minutesOf(p.end),
    })),
    holidays: new Set(r.days.filter((d) => d.kind === 'holiday').map((d) => d.date)),
    workdays: new Set(r.days.filter((d) => d.kind === 'workday').map((d) => d.date)),
  };
}

/** Working minutes from now to the deadline (negative when past), as "3 h 20 min". */
export function workingRemaining(dueAt: string, now: number, cal: WorkingCalendar): string {
  const minutes = Math.round(workingTimeBetween(new Date(now), new Date(dueAt), cal));
  const sign = minutes < 0 ? '-' : '';
  const m = Math.abs(minutes);
  return `${sign}${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}
