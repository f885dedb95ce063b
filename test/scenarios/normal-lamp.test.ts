import { describe, expect, it } from 'vitest';
import { createEvaluator, defaultRulePack } from '../../src/rules/index.js';
import { sampleReading, seededRng } from '../../src/simulators/index.js';

/** The simulators and the rule pack must agree on what normal is, or a demo raises false alarms. */
describe('a normally working simulated streetlight', () => {
  it.each(['2026-11-23', '2026-06-21'])(
    'raises no alarm under the default rule pack over two days from %s',
    (day) => {
      const evaluator = createEvaluator(defaultRulePack);
      const rng = seededRng(7);
      const state = {};
      const start = Date.parse(`${day}T00:00:00+08:00`);
      const transitions = [];
      for (let t = start; t < start + 2 * 86_400_000; t += 60_000) {
        const metrics = sampleReading('streetlight', rng, t, state);
        transitions.push(...evaluator.evaluate('SL-TEST', 'streetlight', [{ timeMs: t, metrics }]));
      }
      expect(transitions.map((x) => `${x.rule.id} ${x.transition.action}`)).toEqual([]);
    },
  );
});
