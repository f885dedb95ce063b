import {
  initialLevelState,
  levelsSchema,
  stepLevels,
  type Level,
  type LevelState,
} from './levels.js';
import { dayNightSchema, isDay, type DayNight } from './schedule.js';
import { none, type ReadingKind, type Reading, type Transition } from './types.js';

/**
 * Rolling aggregate over a window of the device's readings: mean (dust hourly
 * mean), max, or Leq (energy mean of dB(A), noise over 10 min by GB 12523-2011).
 * Levels as in the multi-level kind; per-site limits through overrides. With
 * a day/night schedule the night levels apply outside the day period (noise
 * 70/55 dB(A)); empty day `levels` make a night-only rule. Evaluation is suppressed while fewer than `minValidity` of the
 * expected readings are in the window (domain.md dust: under 75 % validity, no
 * alarm), so one gust or a half-empty hour never opens or clears an alarm.
 */

export interface AggregateSettings {
  readonly metric: string;
  readonly fn: 'mean' | 'max' | 'leq';
  readonly windowS: number;
  /** Reporting interval the validity is measured against. */
  readonly expectedIntervalS: number;
  /** Share of expected readings needed in the window (0–1; domain.md dust: 0.75). */
  readonly minValidity: number;
  readonly levels: readonly Level[];
  readonly op?: '>' | '>=';
  readonly schedule?: DayNight & { readonly nightLevels: readonly Level[] };
}

export interface AggregateState extends LevelState {
  times: number[];
  values: number[];
  head: number;
  /** Sum of values (mean) or of 10^(L/10) (Leq) over the window. */
  sum: number;
}

export const aggregateSettingsSchema = {
  type: 'object',
  required: ['metric', 'fn', 'windowS', 'expectedIntervalS', 'minValidity', 'levels'],
  additionalProperties: false,
  properties: {
    metric: { type: 'string', minLength: 1 },
    fn: { enum: ['mean', 'max', 'leq'] },
    windowS: { type: 'number', minimum: 1, maximum: 86400 },
    expectedIntervalS: { type: 'number', minimum: 1, maximum: 86400 },
    minValidity: { type: 'number', minimum: 0, maximum: 1 },
    // Empty with a schedule: no limit by day (a night-only rule, GB 12523 night maximum).
    levels: { ...levelsSchema, minItems: 0 },
    op: { enum: ['>', '>='] },
    schedule: {
      ...dayNightSchema,
      required: [...dayNightSchema.required, 'nightLevels'],
      properties: { ...dayNightSchema.properties, nightLevels: levelsSchema },
    },
  },
} as const;

interface Prepared extends AggregateSettings {
  readonly windowMs: number;
  readonly needed: number;
}

function initialState(): AggregateState {
  return { ...initialLevelState(), times: [], values: [], head: 0, sum: 0 };
}

const weight = (fn: AggregateSettings['fn'], v: number) => (fn === 'leq' ? 10 ** (v / 10) : v);

/** Drops the readings that left the window (lazily on the hot path, always before a checkpoint). */
function compact(st: AggregateState): void {
  if (st.head === 0) return;
  st.times = st.times.slice(st.head);
  st.values = st.values.slice(st.head);
  st.head = 0;
}

function evaluate(reading: Reading, s: Prepared, st: AggregateState): Transition {
  const v = reading.metrics[s.metric];
  const t = reading.timeMs;
  if (typeof v !== 'number' || t < st.lastMs) return none;
  st.lastMs = t;
  st.times.push(t);
  st.values.push(v);
  st.sum += weight(s.fn, v);
  while (st.times[st.head]! <= t - s.windowMs) {
    st.sum -= weight(s.fn, st.values[st.head]!);
    st.head++;
  }
  if (st.head > 32 && st.head * 2 > st.times.length) compact(st);
  const n = st.times.length - st.head;
  if (n < s.needed) return none;
  let agg: number;
  if (s.fn === 'mean') agg = st.sum / n;
  else if (s.fn === 'leq') agg = 10 * Math.log10(st.sum / n);
  else {
    agg = -Infinity;
    for (let i = st.head; i < st.values.length; i++) if (st.values[i]! > agg) agg = st.values[i]!;
  }
  agg = Math.round(agg * 100) / 100;
  const levels = s.schedule && !isDay(t, s.schedule) ? s.schedule.nightLevels : s.levels;
  if (levels.length === 0) {
    // No limit in this period: whatever was open clears.
    st.sinceMs = null;
    if (!st.open) return none;
    st.open = false;
    st.level = -1;
    return { action: 'clear', value: agg };
  }
  return stepLevels(agg, t, levels, s.op !== '>=', 0, st, st.times[st.head]!);
}

export const aggregateKind: ReadingKind<AggregateSettings, Prepared, AggregateState> = {
  settingsSchema: aggregateSettingsSchema,
  prepare: (s) => ({
    ...s,
    windowMs: s.windowS * 1000,
    needed: Math.max(1, Math.ceil((s.windowS / s.expectedIntervalS) * s.minValidity)),
  }),
  initialState,
  evaluate,
  metricOf: (s) => s.metric,
  compact,
};
