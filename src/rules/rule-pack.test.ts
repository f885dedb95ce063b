import { describe, expect, it } from 'vitest';
import type { FacilityType } from '../domain/index.js';
import { sampleReading, scenarios, seededRng } from '../simulators/index.js';
import {
  createEvaluator,
  defaultRulePack,
  isDay,
  rulePackFor,
  type DayNight,
  type RuleOverrideInput,
} from './index.js';

/**
 * The rules closing domain.md's remaining alarms (#4), case by case beyond
 * the scripted scenarios: what opens them, what keeps them open, what clears
 * them, and what must raise nothing.
 */
function device(id: string, type: FacilityType, overrides: RuleOverrideInput[] = []) {
  const evaluator = createEvaluator(defaultRulePack, overrides);
  evaluator.setFleet([{ id, type, gridCode: '430302001001001' }], 0);
  let s = 0;
  /** One reading 30 s after the last: its transitions as `action rule`. */
  return (metrics: Record<string, unknown>): string[] =>
    evaluator
      .evaluate(id, type, [{ timeMs: (s += 30) * 1000, metrics }])
      .map((t) => `${t.transition.action} ${t.rule.id}`);
}

const car = { floor: 3, door_open: false, moving: true, speed: 1.5, people: false };

describe('elevator fault codes and speed', () => {
  it('opens over-speed on the car’s speed alone and clears when it is back under 2.0 m/s', () => {
    const report = device('EV-1', 'elevator');
    expect(report({ ...car, fault_code: 'none' })).toEqual([]);
    expect(report({ ...car, speed: 2.2 })).toEqual(['open elevator.overspeed']);
    expect(report({ ...car, speed: 2.4 })).toEqual([]);
    expect(report({ ...car, speed: 1.6 })).toEqual(['clear elevator.overspeed']);
  });

  it('judges a car of another rated speed by its device override (1.0 m/s rated: over 1.15 m/s)', () => {
    const report = device('EV-2', 'elevator', [
      {
        ruleId: 'elevator.overspeed',
        scope: 'device',
        scopeId: 'EV-2',
        settings: {
          when: [
            { metric: 'fault_code', op: '==', value: 'overspeed' },
            { metric: 'speed', op: '>', value: 1.15 },
          ],
        },
        enabled: null,
      },
    ]);
    expect(report({ ...car, speed: 1.0 })).toEqual([]);
    expect(report({ ...car, speed: 1.3 })).toEqual(['open elevator.overspeed']);
  });

  it('keeps a code alarm open through readings without fault_code and clears on none; a vendor code raises nothing', () => {
    const report = device('EV-3', 'elevator');
    const stopped = { ...car, moving: false, speed: 0 };
    expect(report({ ...stopped, fault_code: 'bottom_overrun' })).toEqual(['open elevator.overrun']);
    expect(report(stopped)).toEqual([]);
    expect(report({ ...stopped, fault_code: 'none' })).toEqual(['clear elevator.overrun']);
    expect(report({ ...stopped, fault_code: 'E-42' })).toEqual([]);
    expect(report({ ...stopped, door_open: true, fault_code: 'door_fault' })).toEqual([
      'open elevator.door_fault',
    ]);
    // One fault after another: the first clears as the next opens (in the pack's order).
    expect(report({ ...stopped, fault_code: 'stop_outside_door_zone' }).sort()).toEqual([
      'clear elevator.door_fault',
      'open elevator.stop_outside_door_zone',
    ]);
  });

  it('the hand-played elevator-overrun scenario raises the overrun alarm, and nothing else', () => {
    const report = device('EV-5', 'elevator');
    const rng = seededRng(3);
    const reading = scenarios['elevator-overrun'].alter!(sampleReading('elevator', rng, 0), rng);
    expect(report(reading)).toEqual(['open elevator.overrun']);
  });

  it('opens shaking only when it lasts a minute, and holds it until under 0.4 m/s²', () => {
    const report = device('EV-4', 'elevator');
    expect(report({ ...car, vibration: 0.9 })).toEqual([]);
    expect(report({ ...car, vibration: 0.2 })).toEqual([]);
    expect(report({ ...car, vibration: 0.9 })).toEqual([]);
    expect(report({ ...car, vibration: 0.8 })).toEqual([]);
    expect(report({ ...car, vibration: 0.7 })).toEqual(['open elevator.vibration']);
    expect(report({ ...car, vibration: 0.5 })).toEqual([]);
    expect(report({ ...car, vibration: 0.3 })).toEqual(['clear elevator.vibration']);
  });
});

describe('lighting cabinet and regulator cut-off', () => {
  it('a circuit switched off by day draws no current and raises nothing', () => {
    const report = device('SL-1', 'streetlight');
    for (let i = 0; i < 5; i++)
      expect(report({ circuit_on: false, circuit_voltage: 222, circuit_current: 0 })).toEqual([]);
  });

  it('a lost supply is one alarm, not a no-current alarm too', () => {
    const report = device('SL-2', 'streetlight');
    const lost = { circuit_on: true, circuit_voltage: 0, circuit_current: 0 };
    expect(report(lost)).toEqual([]);
    expect(report(lost)).toEqual([]);
    expect(report(lost)).toEqual(['open streetlight.circuit_no_voltage']);
    expect(report({ ...lost, circuit_voltage: 220, circuit_current: 12 })).toEqual([
      'clear streetlight.circuit_no_voltage',
    ]);
  });

  it('the cut-off opens at once and clears when the valve is reset', () => {
    const report = device('GS-1', 'gas');
    expect(report({ pressure: 3, cutoff_tripped: true })).toEqual(['open gas.cutoff']);
    expect(report({ pressure: 3, cutoff_tripped: false })).toEqual(['clear gas.cutoff']);
  });
});

describe('the pack in the city’s time zone', () => {
  it('puts CITY_TIMEZONE into every schedule and leaves the rest of each rule as it was', () => {
    const berlin = rulePackFor('Europe/Berlin');
    const zones = JSON.stringify(berlin).match(/"timeZone":"[^"]*"/g) ?? [];
    expect(zones.length).toBeGreaterThan(5);
    expect(new Set(zones)).toEqual(new Set(['"timeZone":"Europe/Berlin"']));
    expect(berlin.map((r) => r.id)).toEqual(defaultRulePack.map((r) => r.id));
    expect(rulePackFor('Asia/Shanghai')).toBe(defaultRulePack);
  });

  it('follows daylight saving: 21:30 local is GB 12523 day in winter and in summer', () => {
    const noise = rulePackFor('Europe/Berlin').find((r) => r.id === 'dust_noise.noise')!;
    const schedule = (noise.settings as { schedule: DayNight }).schedule;
    // 20:30 UTC is 21:30 CET in January and 22:30 CEST in July.
    expect(isDay(Date.parse('2026-01-15T20:30:00Z'), schedule)).toBe(true);
    expect(isDay(Date.parse('2026-07-15T20:30:00Z'), schedule)).toBe(false);
    expect(isDay(Date.parse('2026-07-15T19:30:00Z'), schedule)).toBe(true);
  });
});
