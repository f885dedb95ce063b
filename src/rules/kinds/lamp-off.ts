import { lightingClock, lightingHoursSchema, type LightingHours } from './schedule.js';
import { none, type BaseState, type ReadingKind, type Reading, type Transition } from './types.js';

/**
 * Lamp should be on but is off (domain.md streetlight: due on yet draws ≈ 0 A
 * for 5 min: dark lamp, minor), or, with `mode: 'lit-in-daytime'`, lit
 * outside lighting hours (energy waste, warning). Lighting hours come from
 * dusk and dawn at the city's latitude and longitude, or a timetable.
 * Clears when the lamp draws current again or the schedule no longer wants it.
 */

export interface LampOffSettings {
  readonly hours: LightingHours;
  /** Current at or under this counts as dark (A). */
  readonly darkCurrentA: number;
  readonly forSeconds: number;
  readonly mode?: 'dark' | 'lit-in-daytime';
}

export interface LampOffState extends BaseState {
  sinceMs: number | null;
}

export const lampOffSettingsSchema = {
  type: 'object',
  required: ['hours', 'darkCurrentA', 'forSeconds'],
  additionalProperties: false,
  properties: {
    hours: lightingHoursSchema,
    darkCurrentA: { type: 'number', minimum: 0 },
    forSeconds: { type: 'number', minimum: 0, maximum: 86400 },
    mode: { enum: ['dark', 'lit-in-daytime'] },
  },
} as const;

/** Lit means on and drawing current; null when the reading says neither. */
export function isLit(metrics: Record<string, unknown>, darkCurrentA: number): boolean | null {
  const current = metrics.current;
  if (typeof current === 'number') return current > darkCurrentA;
  const on = metrics.on;
  return typeof on === 'boolean' ? on : null;
}

type Prepared = LampOffSettings & { readonly due: (ms: number) => boolean };

function evaluate(reading: Reading, s: Prepared, st: LampOffState): Transition {
  if (reading.timeMs < st.lastMs) return none;
  const lit = isLit(reading.metrics, s.darkCurrentA);
  if (lit === null) return none;
  st.lastMs = reading.timeMs;
  const due = s.due(reading.timeMs);
  const bad = s.mode === 'lit-in-daytime' ? lit && !due : !lit && due;
  if (st.open) {
    if (bad) return none;
    st.open = false;
    st.sinceMs = null;
    return { action: 'clear', value: lit };
  }
  if (!bad) {
    st.sinceMs = null;
    return none;
  }
  st.sinceMs ??= reading.timeMs;
  if (reading.timeMs - st.sinceMs < s.forSeconds * 1000) return none;
  st.open = true;
  return { action: 'open', firstMs: st.sinceMs, value: lit, threshold: s.darkCurrentA };
}

export const lampOffKind: ReadingKind<LampOffSettings, Prepared, LampOffState> = {
  settingsSchema: lampOffSettingsSchema,
  prepare: (s) => ({ ...s, due: lightingClock(s.hours) }),
  initialState: () => ({ open: false, lastMs: Number.MIN_SAFE_INTEGER, sinceMs: null }),
  evaluate,
  metricOf: () => null,
};
