import { severitySchema, type Severity } from '../../domain/index.js';
import { none, type BaseState, type ReadingKind, type Reading, type Transition } from './types.js';

/**
 * Multi-level threshold: one alarm that changes severity as the value crosses
 * levels, instead of three alarms (domain.md: waterlogging 15/25/40 cm, gas
 * 20/50 %LEL). Opens when the lowest level has held `forSeconds`; escalates at
 * once (a deeper flood does not wait); steps down below a level's `clear`;
 * clears below the first level's `clear` (hysteresis).
 * The level machine is shared with the aggregate kind.
 */

export interface Level {
  readonly severity: Severity;
  /** Raise at or over (`>=`) / over (`>`) this value. */
  readonly value: number;
  /** Step down (or, for the first level, clear) below this; default: `value`. */
  readonly clear?: number;
}

export interface LevelsSettings {
  readonly metric: string;
  readonly op?: '>' | '>=';
  /** Ascending by value. */
  readonly levels: readonly Level[];
  readonly forSeconds: number;
  /**
   * "Still rising" (domain.md gas: ≥ 50 %LEL *or still rising*: level 2): while
   * the alarm is open, a rise of at least `rise` within `windowS` takes it to
   * at least level `level` (0-based), held while the rise stays that fast.
   */
  readonly rising?: { readonly rise: number; readonly windowS: number; readonly level: number };
}

export interface LevelState extends BaseState {
  level: number;
  sinceMs: number | null;
  firstMs: number;
}

/** The levels kind's own state: the rising window, filled only while the alarm is open. */
export interface RisingLevelState extends LevelState {
  rt: number[];
  rv: number[];
  /** The current level was reached by rising, not by value. */
  risen: boolean;
}

export const levelsSchema = {
  type: 'array',
  minItems: 1,
  maxItems: 5,
  items: {
    type: 'object',
    required: ['severity', 'value'],
    additionalProperties: false,
    properties: {
      severity: severitySchema,
      value: { type: 'number' },
      clear: { type: 'number' },
    },
  },
} as const;

export const levelsSettingsSchema = {
  type: 'object',
  required: ['metric', 'levels', 'forSeconds'],
  additionalProperties: false,
  properties: {
    metric: { type: 'string', minLength: 1 },
    op: { enum: ['>', '>='] },
    levels: levelsSchema,
    forSeconds: { type: 'number', minimum: 0, maximum: 86400 },
    rising: {
      type: 'object',
      required: ['rise', 'windowS', 'level'],
      additionalProperties: false,
      properties: {
        rise: { type: 'number', exclusiveMinimum: 0 },
        windowS: { type: 'number', minimum: 1, maximum: 3600 },
        level: { type: 'integer', minimum: 0, maximum: 4 },
      },
    },
  },
} as const;

export function initialLevelState(): LevelState {
  return { open: false, lastMs: Number.MIN_SAFE_INTEGER, level: -1, sinceMs: null, firstMs: 0 };
}

function hit(v: number, levels: readonly Level[], strict: boolean): number {
  let i = -1;
  for (let k = 0; k < levels.length; k++) {
    if (strict ? v > levels[k]!.value : v >= levels[k]!.value) i = k;
  }
  return i;
}

/** One step of the level machine for value `v` at time `t` (`firstMs`: the window's first reading). */
export function stepLevels(
  v: number,
  t: number,
  levels: readonly Level[],
  strict: boolean,
  forSeconds: number,
  state: LevelState,
  firstMs: number = t,
): Transition {
  const h = hit(v, levels, strict);
  if (!state.open) {
    if (h < 0) {
      state.sinceMs = null;
      return none;
    }
    if (state.sinceMs === null) {
      state.sinceMs = t;
      state.firstMs = firstMs;
    }
    if (t - state.sinceMs < forSeconds * 1000) return none;
    state.open = true;
    state.level = h;
    return {
      action: 'open',
      firstMs: state.firstMs,
      value: v,
      threshold: levels[h]!.value,
      severity: levels[h]!.severity,
    };
  }
  const first = levels[0]!;
  if (v < (first.clear ?? first.value) || (first.clear === undefined && h < 0)) {
    state.open = false;
    state.level = -1;
    state.sinceMs = null;
    return { action: 'clear', value: v };
  }
  let next = state.level;
  if (h > next) next = h;
  else {
    // Step down one level at a time while under the current level's clear value.
    while (next > 0 && v < (levels[next]!.clear ?? levels[next]!.value)) next--;
  }
  if (next === state.level) return none;
  state.level = next;
  return {
    action: 'severity',
    value: v,
    threshold: levels[next]!.value,
    severity: levels[next]!.severity,
  };
}

/** Adds (t, v) to the rising window and returns the rise: v minus the window's lowest value. */
function track(st: RisingLevelState, v: number, t: number, windowS: number): number {
  st.rt.push(t);
  st.rv.push(v);
  let drop = 0;
  while (st.rt[drop]! < t - windowS * 1000) drop++;
  if (drop > 0) {
    st.rt.splice(0, drop);
    st.rv.splice(0, drop);
  }
  let min = v;
  for (const x of st.rv) if (x < min) min = x;
  return v - min;
}

function evaluate(reading: Reading, s: LevelsSettings, st: RisingLevelState): Transition {
  const v = reading.metrics[s.metric];
  const t = reading.timeMs;
  if (typeof v !== 'number' || t < st.lastMs) return none;
  st.lastMs = t;
  const r = s.rising;
  const strict = s.op === '>';
  if (!r) return stepLevels(v, t, s.levels, strict, s.forSeconds, st);
  const target = Math.min(r.level, s.levels.length - 1);
  const wasOpen = st.open;
  const rise = wasOpen ? track(st, v, t, r.windowS) : 0;
  // Reached by rising and still rising as fast: hold the level even under its value.
  if (st.risen && rise >= r.rise && hit(v, s.levels, strict) <= st.level) return none;
  const out = stepLevels(v, t, s.levels, strict, s.forSeconds, st);
  if (!st.open) {
    st.rt.length = 0;
    st.rv.length = 0;
    st.risen = false;
    return out;
  }
  if (!wasOpen) track(st, v, t, r.windowS);
  else if (rise >= r.rise && st.level < target) {
    st.level = target;
    st.risen = true;
    const level = s.levels[target]!;
    return {
      action: 'severity',
      value: v,
      threshold: level.value,
      severity: level.severity,
      detail: `rising ${Math.round(rise * 100) / 100} within ${r.windowS} s (at least ${r.rise})`,
    };
  }
  if (st.level < target) st.risen = false;
  return out;
}

export const levelsKind: ReadingKind<LevelsSettings, LevelsSettings, RisingLevelState> = {
  settingsSchema: levelsSettingsSchema,
  prepare: (s) => s,
  initialState: () => ({ ...initialLevelState(), rt: [], rv: [], risen: false }),
  metricOf: (s) => s.metric,
  evaluate,
};
