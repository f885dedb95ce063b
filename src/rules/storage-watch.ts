import type { RuleDefinition } from '../domain/index.js';
import type { AlarmService } from './alarms.js';
import type { AlarmSource } from './evaluator.js';
import {
  initialStorageDegradedState,
  storageDegradedCheck,
  type StorageDegradedSettings,
} from './kinds/index.js';

export const storageDegradedRuleId = 'all.storage_degraded';

/**
 * Turns the storage checks of one hub node into the `all.storage_degraded`
 * alarm (kinds/storage-degraded.ts) through the alarm service, like any
 * rule's. The source is the node's storage (`storage@<host>`), stable across
 * restarts, so an alarm left open by the last run clears once storage is well.
 */
export function createStorageWatch(
  alarms: Pick<AlarmService, 'report' | 'openSources'>,
  rule: () => RuleDefinition | undefined,
  sourceId: string,
) {
  let state = initialStorageDegradedState();
  let restored = false;
  const source: AlarmSource = {
    id: sourceId,
    kind: 'hub',
    deviceId: null,
    gridCode: '',
    facilityType: 'all',
  };

  return {
    /** One check: the problems storage has now (none: healthy). */
    check(problems: readonly { code: string; message: string }[], nowMs: number): void {
      const r = rule();
      if (!r || !r.enabled) return;
      if (!restored) {
        if (alarms.openSources(r.id).includes(sourceId)) state = initialStorageDegradedState(true);
        restored = true;
      }
      const action = storageDegradedCheck(
        r.settings as unknown as StorageDegradedSettings,
        state,
        problems.length > 0,
        nowMs,
      );
      if (!action) return;
      const detail = problems.map((p) => `${p.code}: ${p.message}`).join('; ');
      alarms.report([
        {
          rule: r,
          source,
          readingMs: nowMs,
          detail: detail || 'storage healthy again',
          transition:
            action === 'open'
              ? {
                  action: 'open',
                  firstMs: nowMs,
                  value: problems[0]!.code,
                  severity: r.severity,
                }
              : { action: 'clear', value: 'ok' },
        },
      ]);
    },
  };
}
