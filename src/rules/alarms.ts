import type { Logger } from 'pino';
import { clearAlarm, openAlarm, type DeviceIdentity, type Queryable } from '../db/index.js';
import type { AlarmRecord } from '../domain/index.js';
import type { Evaluator, RuleTransition } from './evaluator.js';

export type AlarmListener = (event: { kind: 'opened' | 'cleared'; alarm: AlarmRecord }) => void;

/**
 * The alarm lifecycle: turns rule transitions into stored alarms and tells
 * listeners (the cases room). Writes happen only on transitions, which are
 * rare next to readings; they are chained per device so an open is stored
 * before its clear.
 */
export function createAlarmService(db: Queryable, evaluator: Evaluator, logger: Logger) {
  const listeners: AlarmListener[] = [];
  const chains = new Map<string, Promise<void>>();
  const counters = { opened: 0, cleared: 0, errors: 0 };

  async function apply(device: DeviceIdentity, t: RuleTransition): Promise<void> {
    const { rule, transition } = t;
    if (transition.action === 'open') {
      const first = rule.settings as { raise: { metric: string; value: unknown }[] };
      const { alarm, opened } = await openAlarm(db, {
        deviceId: device.id,
        ruleId: rule.id,
        ruleVersion: rule.version,
        facilityType: device.type,
        gridCode: device.gridCode,
        severity: rule.severity,
        title: rule.title,
        metric: first.raise[0]!.metric,
        threshold: first.raise[0]!.value as number,
        value: transition.value,
        firstReadingMs: transition.firstMs,
        lastReadingMs: t.readingMs,
      });
      if (!opened) return;
      counters.opened++;
      logger.info({ alarmId: alarm.id, deviceId: device.id, ruleId: rule.id }, 'alarm opened');
      for (const l of listeners) l({ kind: 'opened', alarm });
    } else {
      const alarm = await clearAlarm(db, device.id, rule.id, transition.value, t.readingMs);
      if (!alarm) return;
      counters.cleared++;
      logger.info({ alarmId: alarm.id, deviceId: device.id, ruleId: rule.id }, 'alarm cleared');
      for (const l of listeners) l({ kind: 'cleared', alarm });
    }
  }

  return {
    counters,
    onAlarm(listener: AlarmListener): void {
      listeners.push(listener);
    },
    /** Evaluates a device's readings; the hot path stays synchronous until a transition. */
    handle(
      device: DeviceIdentity,
      readings: readonly { timeMs: number; metrics: Record<string, unknown> }[],
    ): void {
      const transitions = evaluator.evaluate(device.id, device.type, readings);
      if (transitions.length === 0) return;
      const previous = chains.get(device.id) ?? Promise.resolve();
      const next = previous.then(async () => {
        for (const t of transitions) {
          try {
            await apply(device, t);
          } catch (err) {
            counters.errors++;
            logger.error(
              { err, deviceId: device.id, ruleId: t.rule.id },
              'alarm transition not stored',
            );
          }
        }
      });
      chains.set(device.id, next);
      void next.finally(() => {
        if (chains.get(device.id) === next) chains.delete(device.id);
      });
    },
    /** Resolves when every transition handed in so far is stored. */
    async settled(): Promise<void> {
      while (chains.size > 0) await Promise.all(chains.values());
    },
  };
}

export type AlarmService = ReturnType<typeof createAlarmService>;
