import {
  localWindowClock,
  lightingClock,
  lightingHoursSchema,
  type LightingHours,
} from './schedule.js';
import { none, type BaseState, type ReadingKind, type Reading, type Transition } from './types.js';

/**
 * Lamp should be on but is off (domain.md streetlight: due on yet draws ≈ 0 A
 * for 5 min: dark lamp, minor), or, by `mode`, the lamp against the rest of
 * its schedule: `lit-in-daytime` (lit outside lighting hours: energy waste),
 * `not-dimmed` (lit above `hours.dimming.maxDim` % in the dimming window),
 * `dark-sky-lit` (lit in the dark-sky hours of a 暗夜保护区, seed 002).
 * Lighting hours come from dusk and dawn at the city's latitude and
 * longitude, or a timetable; a lamp is not due on in its dark-sky hours.
 * Clears when the lamp is right again or the schedule no longer asks.
 */

export interface LampOffSettings {
  readonly hours: LightingHours;
  /** Current at or under this counts as dark (A). */
  readonly darkCurrentA: number;
  readonly forSeconds: number;
  readonly mode?: LampMode;
}

export type LampMode = 'dark' | 'lit-in-daytime' | 'not-dimmed' | 'dark-sky-lit';

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
    mode: { enum: ['dark', 'lit-in-daytime', 'not-dimmed', 'dark-sky-lit'] },
  },
} as const;

/** Lit means on and drawing current; null when the reading says neither. */
export function isLit(metrics: Record<string, unknown>, darkCurrentA: number): boolean | null {
  const current = metrics.current;
  if (typeof current === 'number') return current > darkCurrentA;
  const on = metrics.on;
  return typeof on === 'boolean' ? on : null;
}

type Prepared = LampOffSettings & {
  /** Lighting hours: dusk to dawn, or the timetable. */
  readonly lighting: (ms: number) => boolean;
  readonly darkSky: (ms: number) => boolean;
  readonly dimming: (ms: number) => boolean;
};

const never = (): boolean => false;

/** Whether the lamp is due on at `ms`: lighting hours, outside its dark-sky hours. */
function due(s: Prepared, ms: number): boolean {
  return s.lighting(ms) && !s.darkSky(ms);
}

/** Whether this reading is what the rule's mode looks for; null when the reading cannot say. */
function isBad(
  s: Prepared,
  lit: boolean,
  metrics: Record<string, unknown>,
  ms: number,
): boolean | null {
  switch (s.mode) {
    case undefined:
    case 'dark':
      return !lit && due(s, ms);
    case 'lit-in-daytime':
      return lit && !s.lighting(ms);
    case 'dark-sky-lit':
      return lit && s.lighting(ms) && s.darkSky(ms);
    case 'not-dimmed': {
      if (!lit || !s.dimming(ms)) return false;
      const dim = metrics.dim;
      return typeof dim === 'number' ? dim > s.hours.dimming!.maxDim : null;
    }
  }
}

function evaluate(reading: Reading, s: Prepared, st: LampOffState): Transition {
  if (reading.timeMs < st.lastMs) return none;
  const lit = isLit(reading.metrics, s.darkCurrentA);
  if (lit === null) return none;
  const bad = isBad(s, lit, reading.metrics, reading.timeMs);
  if (bad === null) return none;
  st.lastMs = reading.timeMs;
  // Not dimmed: the dim level says why; otherwise whether the lamp is lit.
  const value =
    s.mode === 'not-dimmed' && typeof reading.metrics.dim === 'number' ? reading.metrics.dim : lit;
  if (st.open) {
    if (bad) return none;
    st.open = false;
    st.sinceMs = null;
    return { action: 'clear', value };
  }
  if (!bad) {
    st.sinceMs = null;
    return none;
  }
  st.sinceMs ??= reading.timeMs;
  if (reading.timeMs - st.sinceMs < s.forSeconds * 1000) return none;
  st.open = true;
  return {
    action: 'open',
    firstMs: st.sinceMs,
    value,
    threshold: s.mode === 'not-dimmed' ? s.hours.dimming!.maxDim : s.darkCurrentA,
  };
}

function prepare(s: LampOffSettings): Prepared {
  const { dimming, darkSky } = s.hours;
  return {
    ...s,
    lighting: lightingClock(s.hours),
    darkSky: darkSky ? localWindowClock(s.hours, darkSky) : never,
    dimming: dimming ? localWindowClock(s.hours, dimming) : never,
  };
}

export const lampOffKind: ReadingKind<LampOffSettings, Prepared, LampOffState> = {
  settingsSchema: lampOffSettingsSchema,
  prepare,
  initialState: () => ({ open: false, lastMs: Number.MIN_SAFE_INTEGER, sinceMs: null }),
  evaluate,
  metricOf: () => null,
  // The lamp's own schedule (overrides included) for the lighting rate: a lamp of a dark-sky zone is not due in its dark hours.
  dueAt: (s, ms) => (s.mode === undefined || s.mode === 'dark' ? due(s, ms) : null),
};
