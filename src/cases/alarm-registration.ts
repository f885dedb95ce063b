import {
  registerCaseForAlarm,
  registerCaseForAlarmThen,
  type CaseDeadlines,
  type CaseTransaction,
} from '../db/index.js';
import { systemActor, type AlarmRecord, type CaseDetail } from '../domain/index.js';
import type { Registration } from './deadlines.js';
import { dispatchTo } from './effects.js';
import { nextState } from './workflow.js';

/**
 * Registers (立案) the case of an alarm in `tx` and, when the routing table
 * knows a crew, dispatches it at once (docs/cases.md). The dispatch needs
 * nothing the insert returns (the route and deadline row were read before,
 * the time is the transaction's, a new case has no crew), so both go in one
 * round trip (decision 0215). Null when the alarm has a case already.
 */
export async function registerAlarmCase(
  tx: CaseTransaction,
  alarm: AlarmRecord,
  codePrefix: string,
  deadlines: CaseDeadlines | null,
  { route, deadline }: Registration,
): Promise<CaseDetail | null> {
  const registered = (c: CaseDetail) =>
    tx.record(c, {
      action: 'register',
      reason: 'created',
      from: null,
      actor: systemActor,
      at: c.createdAt,
    });
  if (!route) {
    const created = await registerCaseForAlarm(tx.db, alarm, codePrefix, deadlines);
    if (created) registered(created);
    return created;
  }
  const dispatch = dispatchTo(route, deadline, tx.now, null);
  const done = await registerCaseForAlarmThen(tx.db, alarm, codePrefix, deadlines, {
    at: tx.now,
    effect: { set: { ...dispatch.set, state: nextState('registered', 'dispatch')! } },
  });
  if (!done) return null;
  const { created } = done;
  registered(created);
  if (!done.then) throw new Error(`case ${created.code}: its dispatch was not stored`);
  tx.record(done.then, {
    action: 'dispatch',
    reason: 'updated',
    from: created.state,
    actor: systemActor,
    note: null,
    data: dispatch.data,
    prevCrewId: dispatch.prevCrewId ?? null,
    at: created.createdAt,
  });
  return created;
}
