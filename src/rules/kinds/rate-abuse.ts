/**
 * Sustained publish-rate abuse (#6: "a warning alarm after sustained
 * abuse"). The broker holds back what a device publishes over its token
 * bucket (#17: slowed, not dropped) and reports, once a minute, how many of
 * its publishes were over the rate (held, or refused when it was cut off):
 * `drops` below. A device with at least `dropsPerMinute` in each of
 * `forMinutes` minutes in a row raises the alarm; `clearAfterMinutes`
 * minutes in a row with none at all clear it.
 */
export interface RateAbuseSettings {
  readonly dropsPerMinute: number;
  readonly forMinutes: number;
  readonly clearAfterMinutes: number;
}

export const rateAbuseSettingsSchema = {
  type: 'object',
  required: ['dropsPerMinute', 'forMinutes', 'clearAfterMinutes'],
  additionalProperties: false,
  properties: {
    dropsPerMinute: { type: 'integer', minimum: 1 },
    forMinutes: { type: 'integer', minimum: 1, maximum: 1440 },
    clearAfterMinutes: { type: 'integer', minimum: 1, maximum: 1440 },
  },
} as const;

export interface RateAbuseState {
  open: boolean;
  /** Minutes in a row at or over the limit (while closed) or with no drop (while open). */
  run: number;
  /** When the current run of abusive minutes began. */
  firstMs: number;
}

export const initialRateAbuseState = (open = false): RateAbuseState => ({
  open,
  run: 0,
  firstMs: 0,
});

/** One minute's drops of one device; returns the transition it causes, if any. */
export function rateAbuseMinute(
  s: RateAbuseSettings,
  state: RateAbuseState,
  drops: number,
  minuteStartMs: number,
): 'open' | 'clear' | null {
  if (!state.open) {
    if (drops < s.dropsPerMinute) {
      state.run = 0;
      return null;
    }
    if (state.run === 0) state.firstMs = minuteStartMs;
    state.run++;
    if (state.run < s.forMinutes) return null;
    state.open = true;
    state.run = 0;
    return 'open';
  }
  state.run = drops === 0 ? state.run + 1 : 0;
  if (state.run < s.clearAfterMinutes) return null;
  state.open = false;
  state.run = 0;
  return 'clear';
}

export const rateAbuseKind = { settingsSchema: rateAbuseSettingsSchema } as const;
