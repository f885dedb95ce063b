import type { DeviceIdentity } from '../db/index.js';
import type { AlarmService } from './alarms.js';
import type { RuleTransition } from './evaluator.js';
import {
  initialRateAbuseState,
  rateAbuseMinute,
  type RateAbuseSettings,
  type RateAbuseState,
} from './kinds/index.js';
import type { RuleDefinition } from '../domain/index.js';

export const rateAbuseRuleId = 'all.mqtt_rate_abuse';

/**
 * Turns the broker's per-minute drop counts into the `all.mqtt_rate_abuse`
 * alarm (kinds/rate-abuse.ts) through the alarm service, like any rule's.
 * Runs on the node the device is connected to: its drops are counted there.
 */
export function createRateAbuseWatch(
  alarms: Pick<AlarmService, 'report' | 'openSources'>,
  rule: () => RuleDefinition | undefined,
  device: (id: string) => Pick<DeviceIdentity, 'id' | 'type' | 'gridCode'> | undefined,
) {
  const states = new Map<string, RateAbuseState>();
  let restored = false;

  return {
    /** One minute's drops per device (devices with none may be left out). */
    minute(drops: ReadonlyMap<string, number>, minuteStartMs: number): void {
      const r = rule();
      if (!r || !r.enabled) return;
      if (!restored) {
        // Alarms left open by the last run clear as usual once the device behaves.
        for (const id of alarms.openSources(r.id)) states.set(id, initialRateAbuseState(true));
        restored = true;
      }
      const settings = r.settings as unknown as RateAbuseSettings;
      const out: RuleTransition[] = [];
      for (const id of new Set([...drops.keys(), ...states.keys()])) {
        const n = drops.get(id) ?? 0;
        let state = states.get(id);
        if (!state) {
          if (n < settings.dropsPerMinute) continue;
          states.set(id, (state = initialRateAbuseState()));
        }
        const action = rateAbuseMinute(settings, state, n, minuteStartMs);
        if (!state.open && state.run === 0) states.delete(id);
        if (!action) continue;
        const d = device(id);
        if (!d) continue;
        out.push({
          rule: r,
          source: {
            id,
            kind: 'device',
            deviceId: id,
            gridCode: d.gridCode,
            facilityType: d.type,
          },
          readingMs: minuteStartMs,
          detail: `${n} publishes dropped in the last minute`,
          transition:
            action === 'open'
              ? {
                  action: 'open',
                  firstMs: state.firstMs || minuteStartMs,
                  value: n,
                  threshold: settings.dropsPerMinute,
                  severity: r.severity,
                }
              : { action: 'clear', value: n },
        });
      }
      if (out.length > 0) alarms.report(out);
    },
  };
}
