import { describe, expect, it } from 'vitest';
import { generateDemoCity, type FacilityType } from '../domain/index.js';
import {
  playScript,
  scenarioScripts,
  scriptStartMs,
  type ScriptDevice,
} from '../simulators/index.js';
import { createEvaluator, defaultRulePack, type RuleTransition } from './index.js';

/**
 * Each scripted scenario of simulators/scenarios.ts played through the
 * evaluator with an injected clock (one tick a minute), asserting exactly
 * which alarms open, change severity and clear — and so, which do not.
 */
function fleetOf(deviceCount: number): ScriptDevice[] {
  return generateDemoCity({ deviceCount }).devices.map((d) => ({
    id: d.id,
    type: d.type,
    gridCode: d.gridCode,
    road: typeof d.attrs.road === 'string' ? d.attrs.road : null,
  }));
}

interface Entry {
  readonly minute: number;
  readonly action: string;
  readonly rule: string;
  readonly source: string;
  readonly severity?: string;
}

function play(name: string, fleet: readonly ScriptDevice[]): Entry[] {
  const script = scenarioScripts[name]!;
  const startMs = scriptStartMs(script.startLocal);
  const types = new Map<string, FacilityType>(fleet.map((d) => [d.id, d.type]));
  const evaluator = createEvaluator(defaultRulePack);
  evaluator.setFleet(fleet, startMs);
  const log: Entry[] = [];
  const record = (ts: readonly RuleTransition[]) => {
    for (const t of ts)
      log.push({
        minute: Math.floor((t.readingMs - startMs) / 60_000),
        action: t.transition.action,
        rule: t.rule.id,
        source: t.source.id,
        ...('severity' in t.transition && t.transition.severity
          ? { severity: t.transition.severity }
          : {}),
      });
  };
  let nextTick = startMs + 60_000;
  for (const r of playScript(script, fleet)) {
    for (; nextTick <= r.timeMs; nextTick += 60_000) record(evaluator.tick(nextTick));
    record(
      evaluator.evaluate(r.deviceId, types.get(r.deviceId)!, [
        { timeMs: r.timeMs, metrics: r.metrics },
      ]),
    );
  }
  for (const end = startMs + script.durationMin * 60_000; nextTick <= end; nextTick += 60_000)
    record(evaluator.tick(nextTick));
  return log;
}

const summary = (log: readonly Entry[]) =>
  log.map((e) => `${e.action} ${e.rule} ${e.source}${e.severity ? ` ${e.severity}` : ''}`);

describe('the scripted scenarios raise exactly their alarms', () => {
  const small = fleetOf(300);

  it('a rainstorm: one ponding alarm that escalates and steps down, one rising-water warning, no pump alarm', () => {
    const wl = small.find((d) => d.type === 'waterlogging')!.id;
    const log = play('rainstorm', small);
    expect(summary(log)).toEqual([
      `open waterlogging.rising ${wl}`,
      `open waterlogging.depth ${wl} warning`,
      `severity waterlogging.depth ${wl} major`,
      `severity waterlogging.depth ${wl} critical`,
      `clear waterlogging.rising ${wl}`,
      `severity waterlogging.depth ${wl} major`,
      `severity waterlogging.depth ${wl} warning`,
      `clear waterlogging.depth ${wl}`,
    ]);
  });

  it('a dust episode: the 15-min rule and the hourly mean open and clear; a single gust raises nothing', () => {
    const dn = small.find((d) => d.type === 'dust_noise')!.id;
    const log = play('dust-episode', small);
    expect(summary(log)).toEqual([
      `open dust_noise.pm10 ${dn}`,
      `open dust_noise.pm10_hourly ${dn} warning`,
      `clear dust_noise.pm10 ${dn}`,
      `clear dust_noise.pm10_hourly ${dn}`,
    ]);
    expect(log[0]!.minute).toBe(75);
  });

  it('a gas leak: one alarm, major after 30 s at level 1, critical at level 2, cleared under 10 %LEL', () => {
    const gs = small.find((d) => d.type === 'gas')!.id;
    expect(summary(play('gas-leak', small))).toEqual([
      `open gas.ch4 ${gs} major`,
      `severity gas.ch4 ${gs} critical`,
      `clear gas.ch4 ${gs}`,
    ]);
  });

  it('an elevator entrapment: trapped after 2 min, cleared when the doors open; a normal stop raises nothing', () => {
    const ev = small.find((d) => d.type === 'elevator')!.id;
    const log = play('elevator-entrapment', small);
    expect(summary(log)).toEqual([`open elevator.trapped ${ev}`, `clear elevator.trapped ${ev}`]);
    expect(log.map((e) => e.minute)).toEqual([7, 15]);
  });

  it('a lifted manhole cover: one displaced alarm (not a tilt alarm too), cleared when it is back; a 3° wobble raises nothing', () => {
    const mh = small.find((d) => d.type === 'manhole')!.id;
    expect(summary(play('manhole-lifted', small))).toEqual([
      `open manhole.displaced ${mh}`,
      `clear manhole.displaced ${mh}`,
    ]);
  });

  it('elevator faults: over-speed, overrun, a stop outside the door zone (critical), door reopening and shaking (major), each opened once and cleared; a single bump raises nothing', () => {
    const ev = small.find((d) => d.type === 'elevator')!.id;
    const log = play('elevator-faults', small);
    expect(summary(log)).toEqual([
      `open elevator.overspeed ${ev}`,
      `clear elevator.overspeed ${ev}`,
      `open elevator.overrun ${ev}`,
      `clear elevator.overrun ${ev}`,
      `open elevator.stop_outside_door_zone ${ev}`,
      `clear elevator.stop_outside_door_zone ${ev}`,
      `open elevator.door_fault ${ev}`,
      `clear elevator.door_fault ${ev}`,
      `open elevator.vibration ${ev}`,
      `clear elevator.vibration ${ev}`,
    ]);
    expect(log.map((e) => e.minute)).toEqual([5, 10, 15, 20, 25, 30, 35, 40, 46, 50]);
  });

  it('a lighting cabinet: door opened, circuit without current, circuit without supply: one major alarm each, cleared; no dark-lamp or lighting-rate alarm', () => {
    const cabinet = small.find((d) => d.type === 'streetlight')!.id;
    const log = play('cabinet-faults', small);
    expect(summary(log)).toEqual([
      `open streetlight.cabinet_door_open ${cabinet}`,
      `clear streetlight.cabinet_door_open ${cabinet}`,
      `open streetlight.circuit_no_current ${cabinet}`,
      `clear streetlight.circuit_no_current ${cabinet}`,
      `open streetlight.circuit_no_voltage ${cabinet}`,
      `clear streetlight.circuit_no_voltage ${cabinet}`,
    ]);
    expect(log.map((e) => e.minute)).toEqual([5, 10, 16, 25, 36, 45]);
  });

  it('a regulator over-pressure cut-off: critical at once, the outlet pressure alarm after 2 min out of band, both cleared on reset', () => {
    const gs = small.find((d) => d.type === 'gas')!.id;
    const log = play('gas-cutoff', small);
    expect(summary(log)).toEqual([
      `open gas.cutoff ${gs}`,
      `open gas.pressure ${gs}`,
      `clear gas.pressure ${gs}`,
      `clear gas.cutoff ${gs}`,
    ]);
    expect(log.map((e) => e.minute)).toEqual([6, 7, 20, 20]);
  });

  describe('in a city of 3,000 devices', () => {
    const city = fleetOf(3000);

    it('a night with 3 % dark lamps on one road: a dark-lamp alarm per lamp and one road alarm, no district alarm', () => {
      const log = play('lamp-failures', city);
      const failed = scenarioScripts['lamp-failures']!.targets(city);
      const road = `road:${failed[0]!.gridCode.slice(0, 6)}:${failed[0]!.road}`;
      const opened = log.filter((e) => e.action === 'open');
      expect(
        opened
          .filter((e) => e.rule === 'streetlight.dark')
          .map((e) => e.source)
          .sort(),
      ).toEqual(failed.map((d) => d.id).sort());
      expect(
        opened.filter((e) => e.rule !== 'streetlight.dark').map((e) => `${e.rule} ${e.source}`),
      ).toEqual([`streetlight.lighting_rate_road ${road}`]);
      // Repaired at minute 40: everything that opened clears.
      expect(log.filter((e) => e.action === 'clear')).toHaveLength(opened.length);
      expect(failed.length).toBeGreaterThanOrEqual(6);
    });

    it('a power cut: one alarm for the street, none for its hundreds of devices or grids, cleared when power returns', () => {
      const street = city[0]!.gridCode.slice(0, 9);
      const silent = city.filter((d) => d.gridCode.startsWith(street)).length;
      expect(silent).toBeGreaterThan(300);
      const log = play('power-cut', city);
      expect(summary(log)).toEqual([
        `open all.offline street:${street} major`,
        `clear all.offline street:${street}`,
      ]);
      // Opens once the 5-min lamps are overdue too (3 × 5 min after their last report);
      // clears within one lamp interval of the power's return at minute 50.
      expect(log[0]!.minute).toBeGreaterThanOrEqual(20);
      expect(log[0]!.minute).toBeLessThanOrEqual(26);
      expect(log[1]!.minute).toBeLessThanOrEqual(56);
    });
  });
});
