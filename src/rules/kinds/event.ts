import {
  conditionsSchema,
  none,
  test,
  type BaseState,
  type Condition,
  type ReadingKind,
  type Reading,
  type Transition,
} from './types.js';

/**
 * Event and state rules: a state the device reports (elevator trapped, manhole
 * open, pump fault, a pump commanded to run that draws no current) holding for
 * `forSeconds`. A metric may contain `{n}` for numbered equipment: the rule
 * holds when the conditions hold together for any one n (domain.md pump
 * station: `pump_n_running`, `pump_n_current`, `pump_n_fault`). Clears when
 * no instance holds any more.
 */

export interface EventSettings {
  readonly when: readonly Condition[];
  /** `all` (default): every condition together; `any`: one is enough (cover open or tilted). */
  readonly match?: 'all' | 'any';
  readonly forSeconds: number;
  /** Highest n substituted for `{n}` (1..instances); default 9. */
  readonly instances?: number;
}

export interface EventState extends BaseState {
  sinceMs: number | null;
}

export const eventSettingsSchema = {
  type: 'object',
  required: ['when', 'forSeconds'],
  additionalProperties: false,
  properties: {
    when: conditionsSchema,
    match: { enum: ['all', 'any'] },
    forSeconds: { type: 'number', minimum: 0, maximum: 86400 },
    instances: { type: 'integer', minimum: 1, maximum: 9 },
  },
} as const;

/** One condition list per instance, expanded once in `prepare`, not per reading. */
type Prepared = { readonly sets: readonly (readonly Condition[])[] };

function prepare(s: EventSettings): Prepared {
  // `any` is the same as one single-condition set per condition.
  if (s.match === 'any') return { sets: s.when.map((c) => [c]) };
  if (!s.when.some((c) => c.metric.includes('{n}'))) return { sets: [s.when] };
  const sets: Condition[][] = [];
  for (let n = 1; n <= (s.instances ?? 9); n++)
    sets.push(s.when.map((c) => ({ ...c, metric: c.metric.replaceAll('{n}', String(n)) })));
  return { sets };
}

/** true/false, or null when no instance's metrics are all present. */
function holds(sets: Prepared['sets'], metrics: Record<string, unknown>): boolean | null {
  let known = false;
  outer: for (const set of sets) {
    for (const c of set) {
      const v = metrics[c.metric];
      if (v === undefined || v === null) continue outer;
    }
    known = true;
    let ok = true;
    for (const c of set) if (!test(metrics[c.metric] as never, c.op, c.value)) ok = false;
    if (ok) return true;
  }
  return known ? false : null;
}

export const eventKind: ReadingKind<EventSettings, Prepared & { forSeconds: number }, EventState> =
  {
    settingsSchema: eventSettingsSchema,
    prepare: (s) => ({ ...prepare(s), forSeconds: s.forSeconds }),
    initialState: () => ({ open: false, lastMs: Number.MIN_SAFE_INTEGER, sinceMs: null }),
    metricOf: () => null,
    evaluate(reading: Reading, p, st): Transition {
      if (reading.timeMs < st.lastMs) return none;
      const h = holds(p.sets, reading.metrics);
      if (h === null) return none;
      st.lastMs = reading.timeMs;
      if (st.open) {
        if (h) return none;
        st.open = false;
        st.sinceMs = null;
        return { action: 'clear', value: false };
      }
      if (!h) {
        st.sinceMs = null;
        return none;
      }
      st.sinceMs ??= reading.timeMs;
      if (reading.timeMs - st.sinceMs < p.forSeconds * 1000) return none;
      st.open = true;
      return { action: 'open', firstMs: st.sinceMs, value: true, threshold: true };
    },
  };
