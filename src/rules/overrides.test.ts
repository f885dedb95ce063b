import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEvaluator, defaultRulePack } from './index.js';
import { mergeSettings } from './overrides.js';
import type { RuleOverrideInput } from './types.js';

// deepmerge drops prototype keys on purpose (no prototype pollution from a
// request body), at any depth: the generated settings leave them out too.
const prototypeKeys = ['__proto__', 'constructor', 'prototype'];
const key = fc.string({ minLength: 1, maxLength: 4 }).filter((k) => !prototypeKeys.includes(k));
const json = fc
  .jsonValue()
  .map(
    (v) =>
      JSON.parse(
        JSON.stringify(v, (k, x) => (prototypeKeys.includes(k) ? undefined : x)),
      ) as unknown,
  );
const settingsObject = fc.dictionary(key, fc.oneof(json, fc.dictionary(key, json)));

describe('override merging', () => {
  it('changes only the nested field an override names, and replaces arrays whole', () => {
    fc.assert(
      fc.property(settingsObject, key, key, json, (base, outer, inner, value) => {
        const before = structuredClone(base);
        const merged = mergeSettings(base, { [outer]: { [inner]: value } });
        expect(base).toEqual(before); // inputs untouched
        for (const k of Object.keys(base)) if (k !== outer) expect(merged[k]).toEqual(base[k]);
        const nested = merged[outer] as Record<string, unknown>;
        expect(nested[inner]).toEqual(value);
        const was = base[outer];
        if (was && typeof was === 'object' && !Array.isArray(was))
          for (const [k, v] of Object.entries(was)) if (k !== inner) expect(nested[k]).toEqual(v);
      }),
      { numRuns: 300 },
    );
    expect(mergeSettings({ levels: [1, 2, 3] }, { levels: [9] })).toEqual({ levels: [9] });
  });

  it('applies district, grid, site, then device: the most specific wins, field by field', () => {
    const noise = defaultRulePack.find((r) => r.id === 'dust_noise.noise')!;
    const o = (scope: RuleOverrideInput['scope'], scopeId: string, settings: object) => ({
      ruleId: noise.id,
      scope,
      scopeId,
      settings: settings as Record<string, unknown>,
      enabled: null,
    });
    const evaluator = createEvaluator(defaultRulePack, [
      o('device', 'DN-1', { windowS: 300 }),
      o('site', '工地-001', { schedule: { nightLevels: [{ severity: 'major', value: 50 }] } }),
      o('grid', '430302001001001', { windowS: 900, expectedIntervalS: 30 }),
      o('district', '430302', { schedule: { dayEndHour: 23 } }),
    ]);
    evaluator.setFleet(
      [
        { id: 'DN-1', type: 'dust_noise', gridCode: '430302001001001', site: '工地-001' },
        { id: 'DN-2', type: 'dust_noise', gridCode: '430302001001001', site: '工地-002' },
      ],
      0,
    );
    // Noise Leq over 10 min at 60 dB(A) by night: over the site's 50, under the pack's 55.
    const night = Date.UTC(2026, 10, 23, 15, 0); // 23:00 local
    const settingsOf = (id: string) => {
      let out: Record<string, unknown> | undefined;
      for (let k = 0; k <= 20 && !out; k++)
        out = evaluator
          .evaluate(id, 'dust_noise', [{ timeMs: night + k * 30_000, metrics: { noise: 60 } }])
          .find((t) => t.rule.id === noise.id)?.settings;
      return out;
    };
    expect(settingsOf('DN-1')).toEqual({
      ...noise.settings,
      windowS: 300,
      expectedIntervalS: 30,
      schedule: {
        dayStartHour: 6,
        dayEndHour: 23,
        timeZone: 'Asia/Shanghai',
        nightLevels: [{ severity: 'major', value: 50 }],
      },
    });
    expect(settingsOf('DN-2')).toBeUndefined(); // another site: the pack's 55 dB(A) holds
  });
});
