/**
 * Storage degraded (issue 11: "health reports `degraded` with the reason
 * while storage is spooling or stalled, and an alarm says so"). The hub
 * checks its storage every few seconds; a problem (writes going to the spool,
 * the replayer failing, files in the quarantine) held `forSeconds` raises the
 * alarm, `clearAfterSeconds` without one clears it: a database restart of a
 * few seconds is not worth an alarm.
 */
export interface StorageDegradedSettings {
  readonly forSeconds: number;
  readonly clearAfterSeconds: number;
}

export const storageDegradedSettingsSchema = {
  type: 'object',
  required: ['forSeconds', 'clearAfterSeconds'],
  additionalProperties: false,
  properties: {
    forSeconds: { type: 'integer', minimum: 0, maximum: 86_400 },
    clearAfterSeconds: { type: 'integer', minimum: 0, maximum: 86_400 },
  },
} as const;

export interface StorageDegradedState {
  open: boolean;
  /** When the current run of checks with (closed) or without (open) a problem began; null: none. */
  sinceMs: number | null;
}

export const initialStorageDegradedState = (open = false): StorageDegradedState => ({
  open,
  sinceMs: null,
});

/** One check; returns the transition it causes, if any. */
export function storageDegradedCheck(
  s: StorageDegradedSettings,
  state: StorageDegradedState,
  degraded: boolean,
  nowMs: number,
): 'open' | 'clear' | null {
  // A run is of checks that would change the alarm: problems while closed, none while open.
  if (degraded === state.open) {
    state.sinceMs = null;
    return null;
  }
  state.sinceMs ??= nowMs;
  if (nowMs - state.sinceMs < (state.open ? s.clearAfterSeconds : s.forSeconds) * 1000) return null;
  state.open = !state.open;
  state.sinceMs = null;
  return state.open ? 'open' : 'clear';
}

export const storageDegradedKind = { settingsSchema: storageDegradedSettingsSchema } as const;
