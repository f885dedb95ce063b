import { describe, expect, it } from 'vitest';
import { defaultRulePack } from '../rule-pack.js';
import { aggregateKind, type AggregateSettings } from './aggregate.js';
import { eventKind } from './event.js';
import { diffActive, initialGroupState, type FleetMember } from './fleet.js';
import { groupRatioKind, type GroupRatioSettings } from './group-ratio.js';
import { integrityKind, type IntegritySettings } from './integrity.js';
import { lampOffKind } from './lamp-off.js';
import { levelsKind, type LevelsSettings } from './levels.js';
import { offlineKind, type OfflineSettings } from './offline.js';
import { rateKind } from './rate.js';
import { isDay, isLightingTime } from './schedule.js';

const cst = (h: number, m = 0) => Date.UTC(2026, 10, 23, h - 8, m);
const r = (timeMs: number, metrics: Record<string, unknown>) => ({ timeMs, metrics });

describe('the multi-level kind', () => {
  const s: LevelsSettings = {
    metric: 'depth',
    op: '>=',
    levels: [
      { severity: 'warning', value: 15, clear: 10 },
      { severity: 'major', value: 25, clear: 20 },
      { severity: 'critical', value: 40, clear: 35 },
    ],
    forSeconds: 0,
  };
  it('opens at the level reached, escalates, steps down under a level’s clear value and clears under the first', () => {
    const st = levelsKind.initialState(s);
    const step = (t: number, depth: number) => levelsKind.evaluate(r(t, { depth }), s, st);
    expect(step(0, 26)).toMatchObject({ action: 'open', severity: 'major', threshold: 25 });
    expect(step(1, 41)).toMatchObject({ action: 'severity', severity: 'critical' });
    expect(step(2, 36).action).toBe('none');
    expect(step(3, 30)).toMatchObject({ action: 'severity', severity: 'major' });
    expect(step(4, 12).action).toBe('severity');
    expect(step(5, 11).action).toBe('none');
    expect(step(6, 9)).toEqual({ action: 'clear', value: 9 });
  });
});

describe('the multi-level kind with "still rising"', () => {
  // domain.md gas: ≥ 20 %LEL held 30 s level 1; ≥ 50 %LEL *or still rising*: level 2.
  const gas = defaultRulePack.find((p) => p.id === 'gas.ch4')!
    .settings as unknown as LevelsSettings;
  const min = 60_000;
  it('takes an open level-1 alarm to level 2 while the concentration keeps rising, and back when it stops', () => {
    const st = levelsKind.initialState(gas);
    const step = (t: number, ch4: number) => levelsKind.evaluate(r(t, { ch4 }), gas, st);
    expect(step(0, 22).action).toBe('none');
    expect(step(40_000, 23)).toMatchObject({ action: 'open', severity: 'major' });
    expect(step(min, 25).action).toBe('none');
    expect(step(2 * min, 29)).toMatchObject({
      action: 'severity',
      severity: 'critical',
      value: 29,
      detail: expect.stringContaining('rising'),
    });
    expect(step(3 * min, 33).action).toBe('none');
    // The rise within 2 min fell under 5 %LEL: back to level 1, still open.
    expect(step(4 * min, 30)).toMatchObject({ action: 'severity', severity: 'major' });
    expect(step(5 * min, 8)).toEqual({ action: 'clear', value: 8 });
  });

  it('does not escalate a steady level-1 concentration, nor rise before the alarm is open', () => {
    const st = levelsKind.initialState(gas);
    const step = (t: number, ch4: number) => levelsKind.evaluate(r(t, { ch4 }), gas, st);
    expect(step(0, 1).action).toBe('none');
    expect(step(min, 25)).toMatchObject({ action: 'none' });
    expect(step(2 * min, 25)).toMatchObject({ action: 'open', severity: 'major' });
    for (let k = 3; k < 10; k++) expect(step(k * min, 25 + (k % 2)).action).toBe('none');
  });
});

describe('the rolling aggregate kind', () => {
  const dust: AggregateSettings = {
    metric: 'pm10',
    fn: 'mean',
    windowS: 3600,
    expectedIntervalS: 60,
    minValidity: 0.75,
    levels: [{ severity: 'warning', value: 150 }],
  };
  it('stays silent while under 75 % of the window’s readings are there, then judges the mean', () => {
    const p = aggregateKind.prepare(dust);
    const st = aggregateKind.initialState(p);
    for (let i = 0; i < 44; i++)
      expect(aggregateKind.evaluate(r(i * 60_000, { pm10: 500 }), p, st).action).toBe('none');
    expect(aggregateKind.evaluate(r(44 * 60_000, { pm10: 500 }), p, st)).toMatchObject({
      action: 'open',
      value: 500,
      firstMs: 0,
    });
  });

  it('computes Leq as the energy mean of decibels, and applies the night limit at night', () => {
    const noise: AggregateSettings = {
      metric: 'noise',
      fn: 'leq',
      windowS: 120,
      expectedIntervalS: 60,
      minValidity: 1,
      levels: [{ severity: 'major', value: 70 }],
      schedule: {
        dayStartHour: 6,
        dayEndHour: 22,
        tzOffsetMin: 480,
        nightLevels: [{ severity: 'major', value: 55 }],
      },
    };
    const p = aggregateKind.prepare(noise);
    const day = aggregateKind.initialState(p);
    aggregateKind.evaluate(r(cst(12, 0), { noise: 60 }), p, day);
    // 10·log10((10^6 + 10^8) / 2) = 77.03 dB(A): over the 70 dB(A) day limit.
    expect(aggregateKind.evaluate(r(cst(12, 1), { noise: 80 }), p, day)).toMatchObject({
      action: 'open',
      value: 77.03,
    });
    const night = aggregateKind.initialState(p);
    aggregateKind.evaluate(r(cst(23, 0), { noise: 58 }), p, night);
    expect(aggregateKind.evaluate(r(cst(23, 1), { noise: 58 }), p, night).action).toBe('open');
  });
});

describe('the rate-of-change kind', () => {
  it('warns when the water rises more than 5 cm within 10 min and clears when it stops rising', () => {
    const s = { metric: 'depth', rise: 5, clearRise: 1, windowS: 600 };
    const st = rateKind.initialState(s);
    const at = (min: number, depth: number) => rateKind.evaluate(r(min * 60_000, { depth }), s, st);
    expect(at(0, 2).action).toBe('none');
    expect(at(5, 6).action).toBe('none');
    expect(at(9, 8)).toMatchObject({ action: 'open', value: 6, firstMs: 0 });
    expect(at(25, 8.5)).toEqual({ action: 'clear', value: 0 });
  });
});

describe('the event kind', () => {
  it('holds for any one numbered pump commanded to run without current', () => {
    const p = eventKind.prepare({
      when: [
        { metric: 'pump_{n}_running', op: '==', value: true },
        { metric: 'pump_{n}_current', op: '<', value: 1 },
      ],
      forSeconds: 60,
    });
    const st = eventKind.initialState(p);
    const m = { pump_1_running: true, pump_1_current: 30, pump_2_running: true, pump_2_current: 0 };
    expect(eventKind.evaluate(r(0, m), p, st).action).toBe('none');
    expect(eventKind.evaluate(r(60_000, m), p, st).action).toBe('open');
    expect(eventKind.evaluate(r(90_000, { ...m, pump_2_current: 31 }), p, st).action).toBe('clear');
  });
});

describe('a night-only aggregate (GB 12523 night maximum)', () => {
  const s = defaultRulePack.find((p) => p.id === 'dust_noise.noise_night_max')!
    .settings as unknown as AggregateSettings;
  it('has no limit by day, opens on one reading over 70 dB(A) at night, clears when it leaves the window or day comes', () => {
    const p = aggregateKind.prepare(s);
    const st = aggregateKind.initialState(p);
    const step = (h: number, m: number, noise: number) =>
      aggregateKind.evaluate(r(cst(h, m), { noise }), p, st);
    expect(step(21, 50, 90).action).toBe('none'); // day (before 22:00)
    expect(step(22, 30, 72)).toMatchObject({ action: 'open', value: 72, threshold: 70 });
    expect(step(22, 35, 50).action).toBe('none');
    expect(step(22, 41, 50)).toEqual({ action: 'clear', value: 50 });
    expect(step(29, 55, 75).action).toBe('open'); // 05:55 the next morning
    expect(step(30, 0, 75)).toEqual({ action: 'clear', value: 75 }); // 06:00: day
  });
});

describe('schedules', () => {
  const city = { lat: 27.83, lon: 112.94, tzOffsetMin: 480 };
  it('puts lighting hours between dusk and dawn at the city, or inside a timetable', () => {
    expect(isLightingTime(cst(12), city)).toBe(false);
    expect(isLightingTime(cst(22), city)).toBe(true);
    expect(isLightingTime(cst(3), city)).toBe(true);
    const timetable = { ...city, timetable: { on: '19:00', off: '06:00' } };
    expect(isLightingTime(cst(18, 30), timetable)).toBe(false);
    expect(isLightingTime(cst(19, 0), timetable)).toBe(true);
  });
  it('follows GB 12523 day 06–22 in China Standard Time', () => {
    const s = { dayStartHour: 6, dayEndHour: 22, tzOffsetMin: 480 };
    expect([isDay(cst(6), s), isDay(cst(21, 59), s), isDay(cst(22), s)]).toEqual([
      true,
      true,
      false,
    ]);
  });
  it('raises a dark lamp only after it has been dark for the duration during lighting hours', () => {
    const p = lampOffKind.prepare({ hours: city, darkCurrentA: 0.05, forSeconds: 300 });
    const st = lampOffKind.initialState(p);
    expect(lampOffKind.evaluate(r(cst(12), { current: 0 }), p, st).action).toBe('none');
    expect(lampOffKind.evaluate(r(cst(22), { current: 0 }), p, st).action).toBe('none');
    expect(lampOffKind.evaluate(r(cst(22, 5), { current: 0 }), p, st).action).toBe('open');
    expect(lampOffKind.evaluate(r(cst(22, 10), { current: 0.4 }), p, st).action).toBe('clear');
  });
  it('flags a lamp still at full output in the dimming window, and not one that is dimmed', () => {
    const hours = { ...city, dimming: { from: '00:00', to: '05:00', maxDim: 50 } };
    const p = lampOffKind.prepare({
      hours,
      darkCurrentA: 0.05,
      forSeconds: 1800,
      mode: 'not-dimmed',
    });
    const st = lampOffKind.initialState(p);
    const step = (h: number, m: number, dim: number) =>
      lampOffKind.evaluate(r(cst(h, m), { current: 0.45, dim }), p, st);
    expect(step(23, 0, 100).action).toBe('none'); // before the window
    expect(step(24, 0, 100).action).toBe('none');
    expect(step(24, 30, 100)).toMatchObject({ action: 'open', value: 100, threshold: 50 });
    expect(step(25, 0, 100).action).toBe('none');
    expect(step(25, 5, 50)).toEqual({ action: 'clear', value: 50 });
    expect(step(26, 0, 50).action).toBe('none');
    // A lamp that does not report its dim level cannot be judged.
    expect(lampOffKind.evaluate(r(cst(27), { current: 0.45 }), p, st).action).toBe('none');
  });
  it('in dark-sky hours, wants the lamp off: lit is an alarm, dark is not', () => {
    const hours = { ...city, darkSky: { from: '23:00', to: '05:00' } };
    const lit = lampOffKind.prepare({
      hours,
      darkCurrentA: 0.05,
      forSeconds: 600,
      mode: 'dark-sky-lit',
    });
    const dark = lampOffKind.prepare({ hours, darkCurrentA: 0.05, forSeconds: 300 });
    const sl = lampOffKind.initialState(lit);
    const sd = lampOffKind.initialState(dark);
    const step = (h: number, m: number, current: number) => [
      lampOffKind.evaluate(r(cst(h, m), { current }), lit, sl).action,
      lampOffKind.evaluate(r(cst(h, m), { current }), dark, sd).action,
    ];
    expect(step(22, 0, 0.45)).toEqual(['none', 'none']);
    expect(step(23, 0, 0.45)).toEqual(['none', 'none']);
    expect(step(23, 10, 0.45)).toEqual(['open', 'none']);
    expect(step(23, 20, 0)).toEqual(['clear', 'none']);
    expect(step(24, 0, 0)).toEqual(['none', 'none']); // dark on purpose: no dark-lamp alarm
    expect(lampOffKind.dueAt!(dark, cst(24))).toBe(false);
    expect(lampOffKind.dueAt!(dark, cst(22))).toBe(true);
    expect(lampOffKind.dueAt!(lit, cst(22))).toBeNull();
  });
});

const member = (
  id: string,
  gridCode: string,
  lastSeenMs: number,
  extra: Partial<FleetMember> = {},
) =>
  ({
    id,
    type: 'gas',
    gridCode,
    road: null,
    intervalS: 60,
    lastSeenMs,
    last: null,
    open: [],
    dueOn: null,
    ...extra,
  }) as FleetMember;

describe('the offline kind', () => {
  const s: OfflineSettings = {
    factor: 3,
    areaMinDevices: 5,
    areaRatio: 0.8,
    correlationS: 0,
    deviceSeverity: 'minor',
    areaSeverity: 'major',
  };
  const now = 1_000_000;
  it('raises one grid alarm when a grid falls silent and device alarms for scattered silence', () => {
    const g1 = '430302001001001';
    const g2 = '430302001001002';
    const g3 = '430302002001001';
    const fleet = [
      ...Array.from({ length: 5 }, (_, i) => member(`A${i}`, g1, now - 200_000)),
      ...Array.from({ length: 5 }, (_, i) => member(`B${i}`, g2, i === 0 ? now - 200_000 : now)),
      ...Array.from({ length: 5 }, (_, i) => member(`C${i}`, g3, now)),
    ];
    const active = offlineKind.active(fleet, s, now);
    expect(active.map((c) => c.source).sort()).toEqual(['B0', `grid:${g1}`]);
  });
  it('opens and clears through the level-triggered diff', () => {
    const st = initialGroupState();
    const fleet = [member('A', '430302001001001', 0)];
    expect(diffActive(offlineKind.active(fleet, s, now), st, now, 0)).toMatchObject([
      { action: 'open' },
    ]);
    expect(diffActive(offlineKind.active(fleet, s, now + 1), st, now + 1, 0)).toEqual([]);
    const back = [member('A', '430302001001001', now + 2)];
    expect(diffActive(offlineKind.active(back, s, now + 2), st, now + 2, 0)).toMatchObject([
      { action: 'clear' },
    ]);
  });
});

describe('the group-ratio kind', () => {
  const s: GroupRatioSettings = {
    groupBy: 'road',
    target: 0.98,
    forSeconds: 0,
    hours: { lat: 27.83, lon: 112.94, tzOffsetMin: 480 },
    darkCurrentA: 0.05,
    darkLampLimits: [{ maxLamps: 99, maxDark: 2 }],
    severity: 'major',
  };
  const lamps = (road: string, n: number, dark: number) =>
    Array.from({ length: n }, (_, i) =>
      member(`${road}-${i}`, '430302001001001', 0, {
        type: 'streetlight',
        road,
        last: { current: i < dark ? 0 : 0.45 },
      }),
    );
  it('judges long roads by ratio and short roads by a count of dark lamps', () => {
    const fleet = [...lamps('long', 300, 9), ...lamps('short', 50, 2), ...lamps('ok', 300, 3)];
    const active = groupRatioKind.active(fleet, s, cst(22));
    expect(active.map((c) => [c.source, c.value])).toEqual([['road:430302:long', 97]]);
    expect(groupRatioKind.active(fleet, s, cst(12))).toEqual([]);
  });
  it('groups by street (街道, the grid code’s first nine digits) too', () => {
    const street = { ...s, groupBy: 'street' as const };
    const other = lamps('ok', 300, 0).map((m) => ({ ...m, gridCode: '430302002001001' }));
    const active = groupRatioKind.active([...lamps('long', 300, 9), ...other], street, cst(22));
    expect(active.map((c) => [c.source, c.sourceKind, c.gridCode, c.value])).toEqual([
      ['street:430302001', 'street', '430302001', 97],
    ]);
  });
  it('leaves out lamps their own schedule wants off (a dark-sky zone)', () => {
    const fleet = lamps('long', 300, 9).map((m, i) => (i < 9 ? { ...m, dueOn: false } : m));
    expect(groupRatioKind.active(fleet, s, cst(22))).toEqual([]);
  });
});

describe('the facility integrity kind', () => {
  const s = defaultRulePack.find((p) => p.id === 'streetlight.integrity')!
    .settings as unknown as IntegritySettings;
  const district = (code: string, n: number, faulty: number, silent = 0) =>
    Array.from({ length: n }, (_, i) =>
      member(`${code}-${i}`, `${code}001001001`, 0, {
        type: 'streetlight',
        last: i < silent ? null : { current: 0.45 },
        open: i >= silent && i < silent + faulty ? ['streetlight.dark'] : [],
      }),
    );
  it('judges each district of reporting lamps against 95 %, counting lamps with a fault alarm open', () => {
    const fleet = [
      ...district('430302', 100, 6), // 94 %
      ...district('430303', 100, 5), // 95 %: on target
      ...district('430304', 10, 5), // too few lamps to judge
      ...district('430305', 60, 2, 20), // 40 reporting, 2 faulty: 95 %
      ...Array.from({ length: 50 }, (_, i) =>
        member(`g${i}`, '430305001001001', 0, { last: {}, open: ['gas.ch4'] }),
      ),
    ];
    const active = integrityKind.active(fleet, s, 0);
    expect(active.map((c) => [c.source, c.value, c.threshold])).toEqual([
      ['district:430302', 94, 95],
    ]);
    expect(active[0]!.detail).toBe(
      'integrity 94 %: 6 of 100 streetlight out of order (target 95 %)',
    );
    const leaking = district('430302', 100, 0).map((m, i) =>
      i < 6 ? { ...m, open: ['streetlight.leakage'] } : m,
    );
    expect(integrityKind.active(leaking, s, 0)).toHaveLength(1);
    const daytime = district('430302', 100, 0).map((m, i) =>
      i < 6 ? { ...m, open: ['streetlight.lit_in_daytime'] } : m,
    );
    expect(integrityKind.active(daytime, s, 0)).toEqual([]);
  });
});
