import type { Severity } from '../../domain/index.js';
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
}

export interface LevelState extends BaseState {
  level: number;
  sinceMs: number | null;
  firstMs: number;
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
      severity: { enum: ['critical', 'major', 'minor', 'warning'] },
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

export const levelsKind: ReadingKind<LevelsSettings, LevelsSettings, LevelState> = {
  settingsSchema: levelsSettingsSchema,
  prepare: (s) => s,
  initialState: initialLevelState,
  metricOf: (s) => s.metric,
  evaluate(reading: Reading, s: LevelsSettings, state: LevelState): Transition {
    const v = reading.metrics[s.metric];
    if (typeof v !== 'number' || reading.timeMs < state.lastMs) return none;
    state.lastMs = reading.timeMs;
    return stepLevels(v, reading.timeMs, s.levels, s.op === '>', s.forSeconds, state);
  },
};
