import { describe, expect, it } from 'vitest';
import type { OverrideScope } from '../domain/index.js';
import { createEvaluator, defaultRulePack, type RuleTransition } from './index.js';

/**
 * Overrides of the fleet-wide (tick) rules: resolved per group (a district, a
 * street, a road's district) or per device, so one district can have its own
 * lighting-rate or integrity target and one grid its own offline factor.
 */

const start = Date.UTC(2026, 10, 23, 14, 0); // 22:00 in the demo city: lamps due on
const override = (
  ruleId: string,
  scope: OverrideScope,
  scopeId: string,
  settings: Record<string, unknown>,
  enabled: boolean | null = null,
) => ({ ruleId, scope, scopeId, settings, enabled });

/** 100 lamps in each of two districts, one lamp a road (the road rule stays out), `dark` of each dark. */
function lampsIn(districts: readonly string[]) {
  return districts.flatMap((d) =>
    Array.from({ length: 100 }, (_, i) => ({
      id: `SL-${d}-${i}`,
      type: 'streetlight',
      gridCode: `${d}001001001`,
      road: `路${i}`,
    })),
  );
}

function play(
  evaluator: ReturnType<typeof createEvaluator>,
  lamps: ReturnType<typeof lampsIn>,
  dark: number,
  ruleId: string,
  minutes = 30,
): RuleTransition[] {
  const out: RuleTransition[] = [];
  evaluator.setFleet(lamps, start);
  for (let m = 0; m <= minutes; m += 5) {
    const t = start + m * 60_000;
    for (const l of lamps) {
      const current = Number(l.id.split('-')[2]) < dark ? 0 : 0.45;
      evaluator.evaluate(l.id, 'streetlight', [{ timeMs: t, metrics: { current } }]);
    }
    out.push(...evaluator.tick(t).filter((tr) => tr.rule.id === ruleId));
  }
  return out;
}

describe('overrides of the fleet-wide rules', () => {
  it('gives one district its own lighting-rate target, and the alarm records the settings that applied', () => {
    // 97 % lit in both: under the pack's 98 %, over a district's 96 % (建城〔2011〕257号: branch roads ≥ 96 %).
    const evaluator = createEvaluator(defaultRulePack, [
      override('streetlight.lighting_rate_district', 'district', '430302', { target: 0.96 }),
    ]);
    const opened = play(
      evaluator,
      lampsIn(['430302', '430304']),
      3,
      'streetlight.lighting_rate_district',
    );
    expect(opened.map((tr) => `${tr.transition.action} ${tr.source.id} ${tr.detail}`)).toEqual([
      'open district:430304 lighting rate 97 % of 100 lamps (target 98 %)',
    ]);
    expect(opened[0]!.settings).toMatchObject({ target: 0.98 });
  });

  it('applies a stricter target and a shorter hold where an override says so, and none where it disables the rule', () => {
    const evaluator = createEvaluator(defaultRulePack, [
      override('streetlight.lighting_rate_district', 'district', '430302', {
        target: 0.99,
        forSeconds: 0,
      }),
      override('streetlight.lighting_rate_district', 'district', '430304', {}, false),
    ]);
    const log = play(
      evaluator,
      lampsIn(['430302', '430304']),
      2,
      'streetlight.lighting_rate_district',
    );
    // Opens at the first tick that sees the lamps' readings (the fleet was registered at `start`).
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      readingMs: start + 5 * 60_000,
      source: { id: 'district:430302' },
      settings: { target: 0.99, forSeconds: 0 },
      transition: { action: 'open', threshold: 99, value: 98 },
    });
  });

  it('judges one district’s integrity against its own target', () => {
    // 3 dark of 100 each: 97 % in good order; 430302 asks for 98 %.
    const evaluator = createEvaluator(defaultRulePack, [
      override('streetlight.integrity', 'district', '430302', { target: 0.98 }),
    ]);
    const log = play(evaluator, lampsIn(['430302', '430304']), 3, 'streetlight.integrity', 40);
    expect(log.map((tr) => `${tr.transition.action} ${tr.source.id}`)).toEqual([
      'open district:430302',
    ]);
    expect(log[0]!.detail).toContain('(target 98 %)');
  });

  it('waits longer before a device of one grid is offline when the grid’s factor says so', () => {
    const quiet = '430302001002001';
    const evaluator = createEvaluator(defaultRulePack);
    // Manholes (30-min interval) in two grids, under the pack's 5 devices an area: no area alarm.
    const fleet = [
      { id: 'MH-1', type: 'manhole', gridCode: '430302001001001' },
      { id: 'MH-2', type: 'manhole', gridCode: '430302001001001' },
      { id: 'MH-3', type: 'manhole', gridCode: quiet },
    ];
    const overridden = createEvaluator(defaultRulePack, [
      override('all.offline', 'grid', quiet, { factor: 10 }),
    ]);
    const log: string[] = [];
    for (const e of [evaluator, overridden]) {
      e.setFleet(fleet, start);
      // 4 × 30 min silent: offline by the pack's 3 ×, not by 10 ×.
      for (const t of [start + 4 * 1800_000, start + 4 * 1800_000 + 901_000])
        for (const tr of e.tick(t))
          if (tr.rule.id === 'all.offline')
            log.push(
              `${e === evaluator ? 'a' : 'b'} ${tr.source.id} ${String(tr.transition.action)} ${String((tr.settings as { factor: number }).factor)}`,
            );
    }
    expect(log).toEqual([
      'a MH-1 open 3',
      'a MH-2 open 3',
      'a MH-3 open 3',
      'b MH-1 open 3',
      'b MH-2 open 3',
    ]);
  });
});
