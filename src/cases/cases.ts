import type { Logger } from 'pino';
import { markCaseRecovered, registerCaseForAlarm, type Queryable } from '../db/index.js';
import type { AlarmRecord, CaseRecord } from '../domain/index.js';

export type CaseChange = { reason: 'created' | 'recovered' | 'updated'; case: CaseRecord };
export type CaseListener = (change: CaseChange) => void;

/**
 * Alarm → case: an opened alarm registers (立案) a case; a cleared alarm marks
 * its case recovered. Dispatch, deadlines and the full workflow are issue #5.
 */
export function createCaseService(db: Queryable, logger: Logger) {
  const listeners: CaseListener[] = [];
  const emit = (change: CaseChange) => {
    for (const l of listeners) l(change);
  };
  return {
    onChange(listener: CaseListener): void {
      listeners.push(listener);
    },
    async handleAlarm(event: { kind: 'opened' | 'cleared'; alarm: AlarmRecord }): Promise<void> {
      if (event.kind === 'opened') {
        const created = await registerCaseForAlarm(db, event.alarm);
        if (!created) return;
        logger.info({ caseCode: created.code, alarmId: event.alarm.id }, 'case registered');
        emit({ reason: 'created', case: created });
      } else {
        const recovered = await markCaseRecovered(
          db,
          event.alarm.id,
          event.alarm.clearedAt ?? new Date().toISOString(),
        );
        if (recovered) emit({ reason: 'recovered', case: recovered });
      }
    },
  };
}

export type CaseService = ReturnType<typeof createCaseService>;
