import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEvaluator, defaultRulePack, type RuleTransition } from './index.js';
import { levelsKind, type LevelsSettings } from './kinds/levels.js';
import { localWindowClock } from './kinds/schedule.js';
import { evaluate, initialState, type ThresholdSettings } from './kinds/threshold.js';

/** Invariants of the engine (issue #4), for any sequence of readings. */
/** The pack's gas rule: levels 20 / 50 %LEL, clear 10, held 30 s, rising 5 %LEL in 2 min. */
const gasSettings = defaultRulePack.find((r) => r.id === 'gas.ch4')!
  .settings as unknown as LevelsSettings;

const steps = fc.array(
  fc.record({ dtS: fc.integer({ min: 0, max: 120 }), value: fc.integer({ min: 0, max: 80 }) }),
  { minLength: 1, maxLength: 200 },
);

describe('rule engine invariants', () => {
  it('never opens a second alarm for a (source, rule) that is open, nor clears one that is not', () => {
    fc.assert(
      fc.property(steps, steps, (depths, gas) => {
        const evaluator = createEvaluator(defaultRulePack);
        const open = new Set<string>();
        const feed = (
          id: string,
          type: 'waterlogging' | 'gas',
          metric: string,
          seq: typeof depths,
        ) => {
          let t = 0;
          for (const s of seq) {
            t += s.dtS * 1000;
            for (const tr of evaluator.evaluate(id, type, [
              { timeMs: t, metrics: { [metric]: s.value } },
            ])) {
              const key = `${tr.source.id}/${tr.rule.id}`;
              if (tr.transition.action === 'open') {
                expect(open.has(key)).toBe(false);
                open.add(key);
              } else {
                expect(open.has(key)).toBe(true);
                if (tr.transition.action === 'clear') open.delete(key);
              }
            }
          }
        };
        feed('WL-1', 'waterlogging', 'depth', depths);
        feed('GS-1', 'gas', 'ch4', gas);
      }),
      { numRuns: 300 },
    );
  });

  it('holds hysteresis: a multi-level alarm clears only under the clear value and opens only at a level after the hold', () => {
    const { rising: _rising, ...s } = gasSettings;
    fc.assert(
      fc.property(steps, (seq) => {
        const st = levelsKind.initialState(s);
        let t = 0;
        let since: number | null = null;
        for (const x of seq) {
          t += x.dtS * 1000;
          const wasOpen = st.open;
          const tr = levelsKind.evaluate({ timeMs: t, metrics: { ch4: x.value } }, s, st);
          if (!wasOpen) since = x.value >= 20 ? (since ?? t) : null;
          if (tr.action === 'clear') expect(x.value).toBeLessThan(10);
          if (wasOpen && x.value >= 10) expect(tr.action).not.toBe('clear');
          if (tr.action === 'open') {
            expect(x.value).toBeGreaterThanOrEqual(20);
            expect(t - since!).toBeGreaterThanOrEqual(30_000);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('keeps an open gas alarm at level 2 whenever it is at 50 %LEL or rose 5 %LEL within 2 min, and clears only under 10', () => {
    const s = gasSettings;
    expect(s.rising).toEqual({ rise: 5, windowS: 120, level: 1 });
    fc.assert(
      fc.property(steps, (seq) => {
        const st = levelsKind.initialState(s);
        let severity: string | null = null;
        const seen: { t: number; v: number }[] = [];
        let t = 0;
        for (const x of seq) {
          t += x.dtS * 1000;
          const wasOpen = st.open;
          const tr = levelsKind.evaluate({ timeMs: t, metrics: { ch4: x.value } }, s, st);
          if (tr.action === 'open' || tr.action === 'severity') severity = tr.severity ?? null;
          if (tr.action === 'clear') {
            expect(x.value).toBeLessThan(10);
            severity = null;
          }
          // The rise counts readings since the alarm opened, within the window.
          if (!wasOpen) seen.length = 0;
          if (st.open) seen.push({ t, v: x.value });
          const low = Math.min(...seen.filter((p) => p.t >= t - 120_000).map((p) => p.v));
          if (wasOpen && st.open && (x.value >= 50 || x.value - low >= 5))
            expect(severity).toBe('critical');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('clears a threshold alarm only on a reading where the clear condition holds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 30 }),
        steps,
        (raiseAt, band, seq) => {
          const s: ThresholdSettings = {
            raise: [{ metric: 'v', op: '>', value: raiseAt }],
            clear: [{ metric: 'v', op: '<', value: raiseAt - band }],
            forSeconds: 0,
          };
          const st = initialState();
          let t = 0;
          for (const x of seq) {
            t += x.dtS * 1000;
            const tr = evaluate({ timeMs: t, metrics: { v: x.value } }, s, st);
            if (tr.action === 'clear') expect(x.value).toBeLessThan(raiseAt - band);
            if (tr.action === 'open') expect(x.value).toBeGreaterThan(raiseAt);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('checkpoints', () => {
  const kinds = [
    ['GS-1', 'gas', 'ch4'],
    ['WL-1', 'waterlogging', 'depth'],
    ['DN-1', 'dust_noise', 'pm10'],
  ] as const;
  const fleet = kinds.map(([id, type]) => ({ id, type, gridCode: '430302001001001' }));
  const run = fc.array(
    fc.record({
      device: fc.integer({ min: 0, max: 2 }),
      dtS: fc.integer({ min: 1, max: 400 }),
      value: fc.integer({ min: 0, max: 300 }),
      checkpoint: fc.boolean(),
    }),
    { minLength: 2, maxLength: 150 },
  );

  it('restores from the incremental checkpoints (busy states only) to the same alarms as never stopping', () => {
    fc.assert(
      fc.property(run, fc.nat(), (steps, at) => {
        const cut = at % steps.length;
        const table = new Map<string, unknown>();
        const save = (e: ReturnType<typeof createEvaluator>) => {
          for (const row of e.checkpoint()) table.set(row.key, structuredClone(row.state));
        };
        const continuous = createEvaluator(defaultRulePack);
        let restarted = createEvaluator(defaultRulePack);
        continuous.setFleet(fleet, 0);
        restarted.setFleet(fleet, 0);
        let t = 0;
        for (const [k, s] of steps.entries()) {
          if (k === cut) {
            save(restarted);
            restarted = createEvaluator(defaultRulePack);
            restarted.setFleet(fleet, 0);
            restarted.restore([...table].map(([key, state]) => ({ key, state })));
          }
          t += s.dtS * 1000;
          const [id, type, metric] = kinds[s.device]!;
          const reading = [{ timeMs: t, metrics: { [metric]: s.value } }];
          const summary = (ts: readonly RuleTransition[]) =>
            ts.map((x) => `${x.rule.id} ${JSON.stringify(x.transition)}`);
          expect(summary(restarted.evaluate(id, type, reading))).toEqual(
            summary(continuous.evaluate(id, type, reading)),
          );
          if (s.checkpoint) save(restarted);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('schedule windows', () => {
  const hhmm = fc
    .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
    .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
  it('a local window (dimming, dark-sky) holds exactly the minutes from its start up to its end, across midnight', () => {
    fc.assert(
      fc.property(
        hhmm,
        hhmm,
        fc.integer({ min: 0, max: 3 * 86_400_000 }),
        // A stored fixed offset and the city's zone name the same clock in China.
        fc.constantFrom({ tzOffsetMin: 480 }, { timeZone: 'Asia/Shanghai' }),
        (from, to, ms, clock) => {
          const inside = localWindowClock(clock, { from, to })(ms);
          const toMin = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3));
          const local = Math.floor(((ms + 480 * 60_000) % 86_400_000) / 60_000);
          // Walk from the start: inside iff the minute is reached before the end.
          let m = toMin(from);
          let seen = false;
          while (m !== toMin(to)) {
            if (m === local) seen = true;
            m = (m + 1) % 1440;
          }
          expect(inside).toBe(seen);
        },
      ),
      { numRuns: 300 },
    );
  });
});
