import { describe, expect, it } from 'vitest';
import { facilityCatalog, generateDemoCity } from '../domain/index.js';
import { diffActive, initialGroupState, type FleetMember } from './kinds/fleet.js';
import { offlineKind, type OfflineSettings } from './kinds/offline.js';
import { createEvaluator, defaultRulePack, type RuleTransition } from './index.js';

/**
 * Issue 17: a power cut and the staggered recovery of the devices. The outage
 * is one alarm per dark area; the recovery clears it and opens nothing new —
 * the last grids to come back are still "80 % dark" for a few seconds, which
 * used to open (and register as cases) one grid alarm each.
 */

const s: OfflineSettings = {
  factor: 3,
  areaMinDevices: 5,
  areaRatio: 0.8,
  correlationS: 900,
  deviceSeverity: 'minor',
  areaSeverity: 'major',
};

const street = '430302001';
/** 4 grids × 25 gas meters reporting every minute. */
const grids = ['001001', '001002', '002001', '002002'].map((g) => street + g);
const ids = grids.flatMap((g, gi) =>
  Array.from({ length: 25 }, (_, i) => ({ id: `D${gi}-${i}`, g })),
);

describe('an area offline alarm through an outage and a staggered recovery', () => {
  it('opens exactly the street alarm, clears it once and opens nothing while the street comes back', () => {
    const t0 = 1_800_000_000_000;
    const seen = new Map(ids.map((d) => [d.id, t0]));
    const back = new Map<string, number>();
    // The power returns at t0 + 30 min; devices reconnect grid by grid over 60 s, the last grid last.
    ids.forEach((d, i) => back.set(d.id, t0 + 1_800_000 + Math.floor((i * 60_000) / ids.length)));
    const state = initialGroupState();
    const log: string[] = [];
    for (let now = t0; now <= t0 + 3_600_000; now += 10_000) {
      for (const d of ids) if (back.get(d.id)! <= now) seen.set(d.id, now);
      const members: FleetMember[] = ids.map((d) => ({
        id: d.id,
        type: 'gas',
        gridCode: d.g,
        road: null,
        intervalS: 60,
        lastSeenMs: seen.get(d.id)!,
        last: null,
        open: [],
        dueOn: null,
      }));
      for (const t of diffActive(
        offlineKind.active(members, s, now, undefined, state),
        state,
        now,
        0,
      ))
        log.push(`${Math.round((now - t0) / 1000)} ${t.action} ${t.condition.source}`);
    }
    expect(log.map((l) => l.split(' ').slice(1).join(' '))).toEqual([
      `open street:${street}`,
      `clear street:${street}`,
    ]);
    // Hysteresis: not cleared at the first devices back (80 %) but once fewer than 40 % are dark.
    const clearedS = Number(log[1]!.split(' ')[0]);
    expect(clearedS).toBeGreaterThanOrEqual(1800 + 36);
  });

  it('lets a grid still dark long after its street came back open its own alarm', () => {
    const t0 = 1_800_000_000_000;
    const state = initialGroupState();
    const at = (now: number, dark: (g: string) => boolean) =>
      diffActive(
        offlineKind.active(
          ids.map((d) => ({
            id: d.id,
            type: 'gas' as const,
            gridCode: d.g,
            road: null,
            intervalS: 60,
            lastSeenMs: dark(d.g) ? t0 : now,
            last: null,
            open: [],
            dueOn: null,
          })),
          s,
          now,
          undefined,
          state,
        ),
        state,
        now,
        0,
      ).map((t) => `${t.action} ${t.condition.source}`);
    expect(at(t0 + 600_000, () => true)).toEqual([`open street:${street}`]);
    const lastGrid = (g: string) => g === grids[3];
    expect(at(t0 + 700_000, lastGrid)).toEqual([`clear street:${street}`]);
    expect(at(t0 + 700_000 + 899_000, lastGrid)).toEqual([]);
    expect(at(t0 + 700_000 + 900_000, lastGrid)).toEqual([`open grid:${grids[3]}`]);
  });
});

describe('a city-wide power cut through the rules engine', () => {
  it('raises one offline alarm per street and nothing new while the city comes back', () => {
    const city = generateDemoCity({ deviceCount: 1000 });
    const evaluator = createEvaluator(defaultRulePack);
    const fleet = city.devices.map((d) => ({
      id: d.id,
      type: d.type,
      gridCode: d.gridCode,
      road: typeof d.attrs.road === 'string' ? d.attrs.road : null,
    }));
    const t0 = Date.UTC(2026, 10, 23, 4); // noon in the city: no lighting-hours rule in play
    evaluator.setFleet(fleet, t0);
    const outage = t0 + 600_000;
    const powerBack = outage + 2 * 3_600_000;
    // Reconnects spread over a minute, sorted by grid: the last grids stay dark longest.
    const order = [...fleet].sort((a, b) => a.gridCode.localeCompare(b.gridCode));
    const backAt = new Map(
      order.map((d, i) => [d.id, powerBack + Math.floor((i * 60_000) / order.length)]),
    );
    const next = new Map(fleet.map((d, i) => [d.id, t0 + (i % 60) * 1000]));
    const log: string[] = [];
    const record = (ts: readonly RuleTransition[], now: number) => {
      for (const t of ts)
        log.push(
          `${now < powerBack ? 'outage' : 'recovery'} ${t.transition.action} ${t.rule.id} ${t.source.kind}`,
        );
    };
    for (let now = t0; now <= powerBack + 1_800_000; now += 10_000) {
      for (const d of fleet) {
        const dark = now >= outage && now < backAt.get(d.id)!;
        if (dark) continue;
        let due = next.get(d.id)!;
        if (now >= backAt.get(d.id)! && due < backAt.get(d.id)!) due = backAt.get(d.id)!;
        if (due > now) continue;
        record(evaluator.evaluate(d.id, d.type, [{ timeMs: due, metrics: {} }]), now);
        next.set(d.id, due + facilityCatalog[d.type].reportingIntervalS * 1000);
      }
      record(evaluator.tick(now), now);
    }
    const streets = new Set(fleet.map((d) => d.gridCode.slice(0, 9))).size;
    const offline = log.filter((l) => l.includes('all.offline'));
    expect(offline).toEqual([
      ...Array<string>(streets).fill('outage open all.offline street'),
      ...Array<string>(streets).fill('recovery clear all.offline street'),
    ]);
  });
});
