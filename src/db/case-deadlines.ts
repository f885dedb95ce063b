import type { CaseDetail, DeadlineUnit } from '../domain/index.js';
import { caseDetailColumns } from './case-workflow.js';
import type { Queryable } from './pool.js';

// Deadlines of cases and the time-driven queries of the workflow's tick (docs/cases.md).

export interface Deadline {
  readonly acceptMinutes: number;
  readonly handleMinutes: number;
  readonly unit: DeadlineUnit;
  readonly dispatchMinutes: number;
  readonly dispatchUnit: DeadlineUnit;
}

export async function findDeadline(
  db: Queryable,
  severity: string,
  facilityType: string | null,
): Promise<Deadline | null> {
  const { rows } = await db.query<Deadline>(
    `SELECT accept_minutes AS "acceptMinutes", handle_minutes AS "handleMinutes", unit,
            dispatch_minutes AS "dispatchMinutes", dispatch_unit AS "dispatchUnit"
     FROM case_deadlines
     WHERE severity = $1 AND (facility_type IS NULL OR facility_type = $2)
     ORDER BY (facility_type IS NULL) ASC LIMIT 1`,
    [severity, facilityType],
  );
  return rows[0] ?? null;
}

/**
 * The deadlines a case gets at registration (立案), written with it; the
 * registration event carries them. `next_escalation_at` starts at `dueAt`.
 */
export interface CaseDeadlines {
  readonly dueAt: string;
  readonly unit: DeadlineUnit;
  readonly handleMinutes: number;
  readonly dispatchDueAt: string;
}

/** Escalation bookkeeping with no change a person sees: no version, no event. */
export async function setNextEscalation(
  db: Queryable,
  id: number,
  at: string | null,
): Promise<void> {
  await db.query(`UPDATE cases SET next_escalation_at = $2 WHERE id = $1`, [id, at]);
}

/** Cases matching a fixed condition on the time `$1`, oldest first. */
async function casesAt(db: Queryable, where: string, nowIso: string): Promise<CaseDetail[]> {
  const { rows } = await db.query<CaseDetail>(
    `SELECT ${caseDetailColumns} FROM cases c WHERE ${where} ORDER BY c.id`,
    [nowIso],
  );
  return rows;
}

/** Open cases whose handling deadline, or next escalation period, has passed. */
export const casesToEscalate = (db: Queryable, nowIso: string) =>
  casesAt(
    db,
    `c.state IN ('registered', 'dispatched', 'in_handling', 'returned') AND c.next_escalation_at <= $1`,
    nowIso,
  );

/** Cases still waiting for dispatch after the dispatch deadline, not yet flagged. */
export const casesNotDispatched = (db: Queryable, nowIso: string) =>
  casesAt(
    db,
    `c.state IN ('registered', 'returned') AND NOT c.dispatch_overdue AND c.dispatch_due_at <= $1`,
    nowIso,
  );

/** Dispatched cases the crew has not signed for by the accept deadline, not yet flagged. */
export const casesNotAccepted = (db: Queryable, nowIso: string) =>
  casesAt(db, `c.state = 'dispatched' AND NOT c.accept_overdue AND c.accept_due_at <= $1`, nowIso);

/** Handled alarm cases whose telemetry has stayed recovered long enough to verify. */
export async function casesToAutoVerify(db: Queryable, nowIso: string): Promise<CaseDetail[]> {
  const { rows } = await db.query<CaseDetail>(
    `SELECT ${caseDetailColumns} FROM cases c
     JOIN alarms a ON a.id = c.alarm_id
     JOIN rule_case_policies p ON p.rule_id = a.rule_id
     WHERE c.state = 'handled' AND p.auto_verify_after_s IS NOT NULL
       AND a.state = 'cleared' AND c.recovered_at IS NOT NULL
       AND c.recovered_at + make_interval(secs => p.auto_verify_after_s) <= $1
     ORDER BY c.id`,
    [nowIso],
  );
  return rows;
}
