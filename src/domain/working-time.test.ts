import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addWorkingTime,
  parseWorkingPeriods,
  workingDayMinutes,
  workingPeriodsProblem,
  workingTimeBetween,
  timeZoneProblem,
  type WorkingCalendar,
} from './working-time.js';

/** Default hours; 2026-10-01..07 National Day holiday, Sunday 2026-09-27 a make-up working day (fixture). */
const cal: WorkingCalendar = {
  timeZone: 'Asia/Shanghai',
  periods: parseWorkingPeriods('08:30-12:00,13:30-17:30'),
  holidays: new Set(['2026-10-01', '2026-10-02', '2026-10-05', '2026-10-06', '2026-10-07']),
  workdays: new Set(['2026-09-27']),
};
/** A local (UTC+8) wall-clock time as an instant. */
const cst = (local: string) => new Date(local + '+08:00');
const iso = (d: Date) => d.toISOString();

describe('working time', () => {
  it('counts only working periods of working days in the city time zone', () => {
    // Monday 10:00 + 1 working hour = 11:00.
    expect(iso(addWorkingTime(cst('2026-11-23T10:00'), 60, cal))).toBe(
      iso(cst('2026-11-23T11:00')),
    );
    // 11:30 + 1 h: 30 min before lunch, 30 min after = 14:00.
    expect(iso(addWorkingTime(cst('2026-11-23T11:30'), 60, cal))).toBe(
      iso(cst('2026-11-23T14:00')),
    );
    // Friday 17:00 + 1 h: 30 min on Friday, 30 min on Monday morning.
    expect(iso(addWorkingTime(cst('2026-11-20T17:00'), 60, cal))).toBe(
      iso(cst('2026-11-23T09:00')),
    );
    // Registered on Saturday night: the hour starts Monday 08:30.
    expect(iso(addWorkingTime(cst('2026-11-21T22:00'), 60, cal))).toBe(
      iso(cst('2026-11-23T09:30')),
    );
    // 3 working days (3 × 450 min) from Wednesday 09:00 end Monday 09:00.
    expect(workingDayMinutes(cal)).toBe(450);
    expect(iso(addWorkingTime(cst('2026-11-18T09:00'), 3 * 450, cal))).toBe(
      iso(cst('2026-11-23T09:00')),
    );
    // Ending exactly at noon stays at noon.
    expect(iso(addWorkingTime(cst('2026-11-23T11:00'), 60, cal))).toBe(
      iso(cst('2026-11-23T12:00')),
    );
    expect(iso(addWorkingTime(cst('2026-11-22T03:00'), 0, cal))).toBe(iso(cst('2026-11-22T03:00')));
  });

  it('skips holidays and works make-up days (调休)', () => {
    // Wednesday 30 September 17:00 + 1 h: holidays 1, 2 October, weekend 3–4, holidays 5–7; Thursday 8th.
    expect(iso(addWorkingTime(cst('2026-09-30T17:00'), 60, cal))).toBe(
      iso(cst('2026-10-08T09:00')),
    );
    // Saturday 26 September 20:00 + 1 h: Sunday the 27th is a working day.
    expect(iso(addWorkingTime(cst('2026-09-26T20:00'), 60, cal))).toBe(
      iso(cst('2026-09-27T09:30')),
    );
    expect(workingTimeBetween(cst('2026-09-30T08:00'), cst('2026-10-09T08:00'), cal)).toBe(900);
  });

  it('measures working minutes between two instants, negative backwards', () => {
    expect(workingTimeBetween(cst('2026-11-23T11:00'), cst('2026-11-23T14:00'), cal)).toBe(90);
    expect(workingTimeBetween(cst('2026-11-23T14:00'), cst('2026-11-23T11:00'), cal)).toBe(-90);
    expect(workingTimeBetween(cst('2026-11-21T00:00'), cst('2026-11-22T23:59'), cal)).toBe(0);
  });

  it('works in a zone with daylight saving time', () => {
    const berlin: WorkingCalendar = { ...cal, timeZone: 'Europe/Berlin', holidays: new Set() };
    // Friday 27 March 2026 16:30 local (UTC+1) + 2 h → Monday 30 March 09:30 local (UTC+2).
    expect(iso(addWorkingTime(new Date('2026-03-27T16:30+01:00'), 120, berlin))).toBe(
      iso(new Date('2026-03-30T09:30+02:00')),
    );
  });

  it('refuses bad working hours and time zones with a clear message', () => {
    expect(workingPeriodsProblem('08:30-12:00,13:30-17:30')).toBeNull();
    expect(workingPeriodsProblem('12:00-08:30')).toMatch(/ends before it starts/);
    expect(workingPeriodsProblem('08:30-12:00,11:00-17:30')).toMatch(/ascending/);
    expect(workingPeriodsProblem('8:30-12:00')).toMatch(/HH:MM-HH:MM/);
    expect(timeZoneProblem('Asia/Shanghai')).toBeNull();
    expect(timeZoneProblem('Mars/Olympus')).toMatch(/IANA/);
  });

  describe('properties', () => {
    const start = fc
      .integer({ min: Date.parse('2026-01-01T00:00Z'), max: Date.parse('2027-12-31T00:00Z') })
      .map((ms) => new Date(ms));
    const minutes = fc.integer({ min: 0, max: 20 * 450 });

    it('is monotonic in the start and in the minutes', () => {
      fc.assert(
        fc.property(start, start, minutes, minutes, (a, b, m, n) => {
          const [s1, s2] = a <= b ? [a, b] : [b, a];
          const [m1, m2] = m <= n ? [m, n] : [n, m];
          expect(addWorkingTime(s1, m1, cal).getTime()).toBeLessThanOrEqual(
            addWorkingTime(s2, m1, cal).getTime(),
          );
          expect(addWorkingTime(s1, m1, cal).getTime()).toBeLessThanOrEqual(
            addWorkingTime(s1, m2, cal).getTime(),
          );
        }),
      );
    });

    it('is additive, and workingTimeBetween inverts it', () => {
      fc.assert(
        fc.property(start, minutes, minutes, (s, m, n) => {
          const stepwise = addWorkingTime(addWorkingTime(s, m, cal), n, cal);
          expect(stepwise.getTime()).toBe(addWorkingTime(s, m + n, cal).getTime());
          expect(workingTimeBetween(s, addWorkingTime(s, m, cal), cal)).toBe(m);
        }),
      );
    });
  });
});
