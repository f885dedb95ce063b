/**
 * Threshold with duration and a separate clear condition (hysteresis): the
 * alarm opens when every `raise` condition has held for `forSeconds` of the
 * device's own reading time, and clears only when a `clear` condition holds
 * (default: the raise conditions no longer hold). Pure: no I/O, no clock.
 */

import {
  conditionsSchema,
  none,
  test,
  type BaseState,
  type Condition,
  type ReadingKind,
  type Scalar,
  type Transition,
} from './types.js';

export interface ThresholdSettings {
  readonly raise: readonly Condition[];
  /** Any of these clears an open alarm. */
  readonly clear?: readonly Condition[];
  readonly forSeconds: number;
}

export interface ThresholdState extends BaseState {
  /** Reading time since which the raise conditions have held, or null. */
  sinceMs: number | null;
}

export const thresholdSettingsSchema = {
  type: 'object',
  required: ['raise', 'forSeconds'],
  additionalProperties: false,
  properties: {
    forSeconds: { type: 'number', minimum: 0, maximum: 86400 },
    raise: { $ref: '#/$defs/conditions' },
    clear: { $ref: '#/$defs/conditions' },
  },
  $defs: { conditions: conditionsSchema },
} as const;

export function initialState(): ThresholdState {
  return { sinceMs: null, open: false, lastMs: Number.MIN_SAFE_INTEGER };
}

/** true / false, or null when the reading does not carry every metric the conditions need. */
function all(conditions: readonly Condition[], metrics: Record<string, unknown>): boolean | null {
  for (const c of conditions) {
    const v = metrics[c.metric];
    if (v === undefined || v === null) return null;
    if (!test(v as Scalar, c.op, c.value)) return false;
  }
  return true;
}

function anyOf(conditions: readonly Condition[], metrics: Record<string, unknown>): boolean | null {
  let known = false;
  for (const c of conditions) {
    const v = metrics[c.metric];
    if (v === undefined || v === null) continue;
    known = true;
    if (test(v as Scalar, c.op, c.value)) return true;
  }
  return known ? false : null;
}

export function evaluate(
  reading: { readonly timeMs: number; readonly metrics: Record<string, unknown> },
  settings: ThresholdSettings,
  state: ThresholdState,
): Transition {
  // Readings older than the last one evaluated say nothing new about "held for".
  if (reading.timeMs < state.lastMs) return none;
  const raised = all(settings.raise, reading.metrics);
  const value = reading.metrics[settings.raise[0]!.metric] as Scalar;
  if (state.open) {
    const cleared = settings.clear
      ? anyOf(settings.clear, reading.metrics)
      : raised === null
        ? null
        : !raised;
    if (cleared === null) return none;
    state.lastMs = reading.timeMs;
    if (!cleared) return none;
    state.open = false;
    state.sinceMs = null;
    return {
      action: 'clear',
      value: (settings.clear ? reading.metrics[settings.clear[0]!.metric] : value) as Scalar,
    };
  }
  if (raised === null) return none;
  state.lastMs = reading.timeMs;
  if (!raised) {
    state.sinceMs = null;
    return none;
  }
  state.sinceMs ??= reading.timeMs;
  if (reading.timeMs - state.sinceMs < settings.forSeconds * 1000) return none;
  state.open = true;
  return { action: 'open', firstMs: state.sinceMs, value, threshold: settings.raise[0]!.value };
}

export const thresholdKind: ReadingKind<ThresholdSettings, ThresholdSettings, ThresholdState> = {
  settingsSchema: thresholdSettingsSchema,
  prepare: (s) => s,
  initialState,
  evaluate,
  metricOf: (s) => s.raise[0]!.metric,
};
