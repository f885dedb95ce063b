import { severitySchema, type Severity } from '../../domain/index.js';
import { none, type BaseState, type ReadingKind, type Reading, type Transition } from './types.js';

/**
 * Rate of change: the value rose by more than `rise` within `windowS`
 * (domain.md waterlogging: rising faster than 5 cm / 10 min, early warning).
 * Rise = current value minus the lowest value in the window. Clears when the
 * rise within the window falls to `clearRise` or below, i.e. the water has
 * stopped climbing.
 */

export interface RateSettings {
  readonly metric: string;
  readonly rise: number;
  readonly clearRise: number;
  readonly windowS: number;
  readonly severity?: Severity;
}

export interface RateState extends BaseState {
  times: number[];
  values: number[];
}

export const rateSettingsSchema = {
  type: 'object',
  required: ['metric', 'rise', 'clearRise', 'windowS'],
  additionalProperties: false,
  properties: {
    metric: { type: 'string', minLength: 1 },
    rise: { type: 'number', exclusiveMinimum: 0 },
    clearRise: { type: 'number', minimum: 0 },
    windowS: { type: 'number', minimum: 1, maximum: 86400 },
    severity: severitySchema,
  },
} as const;

function evaluate(reading: Reading, s: RateSettings, st: RateState): Transition {
  const v = reading.metrics[s.metric];
  const t = reading.timeMs;
  if (typeof v !== 'number' || t < st.lastMs) return none;
  st.lastMs = t;
  st.times.push(t);
  st.values.push(v);
  let drop = 0;
  while (st.times[drop]! < t - s.windowS * 1000) drop++;
  if (drop > 0) {
    st.times.splice(0, drop);
    st.values.splice(0, drop);
  }
  let min = v;
  let minAt = t;
  for (let i = 0; i < st.values.length; i++) {
    if (st.values[i]! < min) {
      min = st.values[i]!;
      minAt = st.times[i]!;
    }
  }
  const rise = Math.round((v - min) * 100) / 100;
  if (!st.open && rise > s.rise) {
    st.open = true;
    return { action: 'open', firstMs: minAt, value: rise, threshold: s.rise };
  }
  if (st.open && rise <= s.clearRise) {
    st.open = false;
    return { action: 'clear', value: rise };
  }
  return none;
}

export const rateKind: ReadingKind<RateSettings, RateSettings, RateState> = {
  settingsSchema: rateSettingsSchema,
  prepare: (s) => s,
  initialState: () => ({ open: false, lastMs: Number.MIN_SAFE_INTEGER, times: [], values: [] }),
  evaluate,
  metricOf: () => null,
};
