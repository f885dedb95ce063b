import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { facilityTypes, metricSpec } from '../domain/index.js';
import { evaluate, initialState, type ThresholdSettings } from './kinds/threshold.js';
import { createEvaluator, defaultRulePack, ruleKinds } from './index.js';

const gas: ThresholdSettings = {
  raise: [{ metric: 'ch4', op: '>=', value: 20 }],
  clear: [{ metric: 'ch4', op: '<', value: 10 }],
  forSeconds: 30,
};
const at = (s: number, ch4: number) => ({ timeMs: s * 1000, metrics: { ch4 } });

describe('the threshold-with-duration rule kind', () => {
  it('opens only after the condition has held for the duration of reading time', () => {
    const state = initialState();
    expect(evaluate(at(0, 25), gas, state).action).toBe('none');
    expect(evaluate(at(20, 26), gas, state).action).toBe('none');
    expect(evaluate(at(30, 27), gas, state)).toEqual({
      action: 'open',
      firstMs: 0,
      value: 27,
      threshold: 20,
    });
  });

  it('restarts the duration when the condition lapses before it is reached', () => {
    const state = initialState();
    evaluate(at(0, 25), gas, state);
    evaluate(at(20, 5), gas, state);
    expect(evaluate(at(40, 25), gas, state).action).toBe('none');
    expect(evaluate(at(70, 25), gas, state).action).toBe('open');
  });

  it('holds an open alarm inside the hysteresis band and clears only on the clear condition', () => {
    const state = initialState();
    evaluate(at(0, 30), gas, state);
    evaluate(at(30, 30), gas, state);
    expect(state.open).toBe(true);
    expect(evaluate(at(40, 15), gas, state).action).toBe('none');
    expect(evaluate(at(50, 9), gas, state)).toEqual({ action: 'clear', value: 9 });
    expect(state.open).toBe(false);
  });

  it('ignores readings without the metric and readings older than the last one', () => {
    const state = initialState();
    expect(evaluate({ timeMs: 0, metrics: { pressure: 3 } }, gas, state).action).toBe('none');
    evaluate(at(100, 25), gas, state);
    expect(evaluate(at(50, 25), gas, state).action).toBe('none');
    expect(state.sinceMs).toBe(100_000);
  });
});

/** Every metric a rule's settings name, with `{n}` standing for pump numbers. */
function metricsOf(settings: Record<string, unknown>): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'metric' && typeof x === 'string') out.push(x.replace('{n}', '1'));
        else walk(x);
      }
    }
  };
  walk(settings);
  return out;
}

describe('the default rule pack', () => {
  it('covers all seven facility types with valid settings on metrics each type defines, citing sources', () => {
    const ajv = new Ajv({ strict: false });
    const covered = new Set(defaultRulePack.map((r) => r.facilityType));
    for (const type of facilityTypes) expect(covered.has(type), type).toBe(true);
    for (const rule of defaultRulePack) {
      const validate = ajv.compile(ruleKinds[rule.kind]!.settingsSchema);
      expect(validate(rule.settings), `${rule.id}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      if (rule.facilityType !== 'all')
        for (const m of metricsOf(rule.settings))
          expect(metricSpec(rule.facilityType, m), `${rule.id}: ${m}`).toBeDefined();
      expect(rule.source.length).toBeGreaterThan(10);
    }
    expect(new Set(defaultRulePack.map((r) => r.id)).size).toBe(defaultRulePack.length);
  });

  it('raises a trapped-passenger alarm only when all three conditions hold for two minutes', () => {
    const evaluator = createEvaluator(defaultRulePack);
    const trapped = { people: true, door_open: false, moving: false };
    expect(evaluator.evaluate('EV-1', 'elevator', [{ timeMs: 0, metrics: trapped }])).toEqual([]);
    expect(
      evaluator.evaluate('EV-1', 'elevator', [
        { timeMs: 60_000, metrics: { ...trapped, moving: true } },
      ]),
    ).toEqual([]);
    evaluator.evaluate('EV-1', 'elevator', [{ timeMs: 70_000, metrics: trapped }]);
    const t = evaluator.evaluate('EV-1', 'elevator', [{ timeMs: 190_000, metrics: trapped }]);
    expect(t.map((x) => [x.rule.id, x.transition.action])).toEqual([['elevator.trapped', 'open']]);
  });

  it('does not open an alarm again that was restored as open', () => {
    const evaluator = createEvaluator(defaultRulePack);
    evaluator.restoreOpen('MH-1', 'manhole', 'manhole.displaced');
    expect(evaluator.evaluate('MH-1', 'manhole', [{ timeMs: 0, metrics: { tilt: 40 } }])).toEqual(
      [],
    );
    const cleared = evaluator.evaluate('MH-1', 'manhole', [{ timeMs: 1, metrics: { tilt: 1 } }]);
    expect(cleared[0]!.transition.action).toBe('clear');
  });

  it('attributes an alarm of a device registered after start to the grid it reports with', () => {
    const evaluator = createEvaluator(defaultRulePack);
    const [t] = evaluator.evaluate(
      'MH-9',
      'manhole',
      [{ timeMs: 0, metrics: { tilt: 40 } }],
      '430302001001001',
    );
    expect(t!.source).toMatchObject({ id: 'MH-9', kind: 'device', gridCode: '430302001001001' });
  });
});

describe('facility integrity from the device alarms the evaluator holds open', () => {
  it('opens one district alarm once dark-lamp alarms take the district under 95 % for 15 min, and clears after repair', () => {
    const evaluator = createEvaluator(defaultRulePack);
    const start = Date.UTC(2026, 10, 23, 14, 0); // 22:00 in the demo city: lamps due on
    const lamps = Array.from({ length: 40 }, (_, i) => ({
      id: `SL-${i}`,
      type: 'streetlight',
      gridCode: '430302001001001',
      road: `路${i}`, // one lamp a road: the road rule stays out of it
    }));
    evaluator.setFleet(lamps, start);
    const report = (minute: number, darkUntil: number) => {
      const t = start + minute * 60_000;
      const out = [];
      for (const [i, l] of lamps.entries()) {
        const current = i < darkUntil ? 0 : 0.45;
        out.push(...evaluator.evaluate(l.id, 'streetlight', [{ timeMs: t, metrics: { current } }]));
      }
      return [...out, ...evaluator.tick(t)].filter((tr) => tr.rule.id === 'streetlight.integrity');
    };
    const log: string[] = [];
    for (let m = 0; m <= 40; m += 5)
      for (const tr of report(m, m < 30 ? 3 : 0))
        log.push(`${m} ${tr.transition.action} ${tr.source.id} ${tr.detail}`);
    // Dark for 5 min at minute 5 (alarms open), under target from then, open 15 min later.
    expect(log).toEqual([
      '20 open district:430302 integrity 92.5 %: 3 of 40 streetlight out of order (target 95 %)',
      '30 clear district:430302 integrity 92.5 %: 3 of 40 streetlight out of order (target 95 %)',
    ]);
  });
});

describe('a dark-sky zone set by overrides (seed 002: 设置暗夜保护区)', () => {
  it('wants the zone’s lamps off in its dark-sky hours: no dark-lamp or lighting-rate alarm, and a lit one is flagged', () => {
    const zone = '430302';
    const darkSky = { hours: { darkSky: { from: '23:00', to: '05:00' } } };
    const evaluator = createEvaluator(defaultRulePack, [
      {
        ruleId: 'streetlight.dark',
        scope: 'district',
        scopeId: zone,
        settings: darkSky,
        enabled: null,
      },
      {
        ruleId: 'streetlight.dark_sky_lit',
        scope: 'district',
        scopeId: zone,
        settings: {},
        enabled: true,
      },
    ]);
    const lamps = Array.from({ length: 40 }, (_, i) => ({
      id: `SL-${i}`,
      type: 'streetlight',
      gridCode: `${zone}001001001`,
      road: '雨湖路',
    }));
    const start = Date.UTC(2026, 10, 23, 15, 0); // 23:00 local
    evaluator.setFleet(lamps, start);
    const log: string[] = [];
    for (let m = 0; m <= 30; m += 5) {
      const t = start + m * 60_000;
      for (const [i, l] of lamps.entries()) {
        // All off for the dark-sky hours, but lamp 0 stays lit.
        const current = i === 0 ? 0.45 : 0;
        for (const tr of evaluator.evaluate(l.id, 'streetlight', [
          { timeMs: t, metrics: { current } },
        ]))
          log.push(`${m} ${tr.transition.action} ${tr.rule.id} ${tr.source.id}`);
      }
      for (const tr of evaluator.tick(t))
        log.push(`${m} ${tr.transition.action} ${tr.rule.id} ${tr.source.id}`);
    }
    expect(log).toEqual(['10 open streetlight.dark_sky_lit SL-0']);
  });
});
