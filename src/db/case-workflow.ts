import {
  HubError,
  caseCodeIdWidth,
  manualCategoryOf,
  type FacilityType,
  type CaseCounter,
  type CaseDetail,
  type CaseEffect,
  type CaseFields,
  type CaseScope,
} from '../domain/index.js';
import { matchingRoutes } from './admin.js';
import type { CaseDeadlines } from './case-deadlines.js';
import type { Queryable } from './pool.js';
import { violationAs } from './sql-errors.js';

/** Every column of a case, workflow fields included (domain/case-workflow.ts). */
export const caseDetailColumns = `c.id, c.code, c.version, c.state, c.kind, c.severity, c.title,
  c.facility_type AS "facilityType", c.device_id AS "deviceId", c.grid_code AS "gridCode",
  c.alarm_id AS "alarmId", c.recovered_at AS "recoveredAt", c.created_at AS "createdAt",
  c.updated_at AS "updatedAt", c.source, c.description, c.location, c.lat, c.lon,
  c.department_id AS "departmentId", c.crew_id AS "crewId", c.due_at AS "dueAt",
  c.accept_due_at AS "acceptDueAt", c.dispatched_at AS "dispatchedAt",
  c.accepted_at AS "acceptedAt", c.handled_at AS "handledAt", c.verified_at AS "verifiedAt",
  c.closed_at AS "closedAt", c.cancelled_reason AS "cancelledReason",
  c.deferred_at AS "deferredAt", c.extension_count AS "extensionCount",
  c.rework_count AS "reworkCount", c.overdue, c.accept_overdue AS "acceptOverdue",
  c.escalation_area AS "escalationArea",
  c.escalated_at AS "escalatedAt", c.dispatch_due_at AS "dispatchDueAt",
  c.dispatch_overdue AS "dispatchOverdue", c.deadline_unit AS "deadlineUnit",
  c.handle_minutes AS "handleMinutes", c.category_code AS "categoryCode"`;

/**
 * Whether case `c` lies in the scope given as parameters `$crew` and `$area`
 * (domain caseScopeOf): the one place scope is decided, for lists, reads,
 * actions and creation. A case without a grid code is in no area:
 * `left(NULL, n) = area` is NULL, never true.
 */
export function scopeCondition(crewParam: number, areaParam: number): string {
  const crew = `$${crewParam}::text`;
  const area = `$${areaParam}::text`;
  return `((${crew} IS NULL OR coalesce(c.crew_id = ${crew}, false))
    AND (${area} IS NULL OR coalesce(left(c.grid_code, length(${area})) = ${area}, false)))`;
}

export async function getCaseDetail(db: Queryable, id: number): Promise<CaseDetail | null> {
  const { rows } = await db.query<CaseDetail>(
    `SELECT ${caseDetailColumns} FROM cases c WHERE c.id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

/**
 * A case as a scoped user asks for it: the case itself (null when there is
 * none), and whether it lies in the user's scope (a 403, not a 404, when not).
 */
export async function getScopedCase(
  db: Queryable,
  id: number,
  scope: CaseScope,
): Promise<{ case: CaseDetail; inScope: boolean } | null> {
  const { rows } = await db.query<CaseDetail & { inScope: boolean }>(
    `SELECT ${caseDetailColumns}, ${scopeCondition(2, 3)} AS "inScope" FROM cases c WHERE c.id = $1`,
    [id, scope.crewId, scope.area],
  );
  if (!rows[0]) return null;
  const { inScope, ...c } = rows[0];
  return { case: c, inScope };
}

export interface CaseFilter {
  readonly state?: string;
  readonly severity?: string;
  readonly facilityType?: string;
  readonly area?: string;
  readonly crewId?: string;
  readonly departmentId?: string;
  readonly overdue?: boolean;
  readonly dispatchOverdue?: boolean;
  readonly q?: string;
  /** A 部件/事件 class (`B0125`) or major class (`B01`): the codes starting with it. */
  readonly categoryCode?: string;
  readonly limit: number;
  readonly offset: number;
}

export async function listCaseDetails(
  db: Queryable,
  f: CaseFilter,
  scope: CaseScope,
): Promise<{ total: number; cases: CaseDetail[] }> {
  const where = `($1::text IS NULL OR c.state = $1)
    AND ($2::text IS NULL OR c.severity = $2)
    AND ($3::text IS NULL OR c.facility_type = $3)
    AND ($4::text IS NULL OR c.grid_code LIKE $4 || '%')
    AND ($5::text IS NULL OR c.crew_id = $5)
    AND ($6::text IS NULL OR c.department_id = $6)
    AND ($7::boolean IS NULL OR c.overdue = $7)
    AND ($8::text IS NULL OR c.title ILIKE '%' || $8 || '%' OR c.code = $8)
    AND ($9::boolean IS NULL OR c.dispatch_overdue = $9)
    AND ${scopeCondition(10, 11)}
    AND ($12::text IS NULL OR c.category_code LIKE $12 || '%')`;
  const params = [
    f.state ?? null,
    f.severity ?? null,
    f.facilityType ?? null,
    f.area ?? null,
    f.crewId ?? null,
    f.departmentId ?? null,
    f.overdue ?? null,
    f.q ?? null,
    f.dispatchOverdue ?? null,
    scope.crewId,
    scope.area,
    f.categoryCode ?? null,
  ];
  const [total, page] = await Promise.all([
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM cases c WHERE ${where}`, params),
    db.query<CaseDetail>(
      `SELECT ${caseDetailColumns} FROM cases c WHERE ${where} ORDER BY c.id DESC LIMIT $13 OFFSET $14`,
      [...params, f.limit, f.offset],
    ),
  ]);
  return { total: total.rows[0]!.n, cases: page.rows };
}

/** Open cases visible to a scope, and the version they are current to. */
export async function openCaseDetails(
  db: Queryable,
  scope: CaseScope,
): Promise<{ version: number; cases: CaseDetail[] }> {
  const [open, version] = await Promise.all([
    db.query<CaseDetail>(
      `SELECT ${caseDetailColumns} FROM cases c
       WHERE c.state NOT IN ('closed', 'cancelled') AND ${scopeCondition(1, 2)}
       ORDER BY c.id DESC LIMIT 500`,
      [scope.crewId, scope.area],
    ),
    db.query<{ v: number }>(`SELECT coalesce(max(version), 0)::bigint AS v FROM cases`),
  ]);
  return { version: version.rows[0]!.v, cases: open.rows };
}

/** The column of each field a transition may set (domain CaseFields); values are parameters. */
const fieldColumns: { readonly [F in keyof Required<CaseFields>]: string } = {
  state: 'state',
  departmentId: 'department_id',
  crewId: 'crew_id',
  dueAt: 'due_at',
  acceptDueAt: 'accept_due_at',
  dispatchedAt: 'dispatched_at',
  acceptedAt: 'accepted_at',
  handledAt: 'handled_at',
  verifiedAt: 'verified_at',
  closedAt: 'closed_at',
  cancelledReason: 'cancelled_reason',
  deferredAt: 'deferred_at',
  overdue: 'overdue',
  acceptOverdue: 'accept_overdue',
  escalationArea: 'escalation_area',
  escalatedAt: 'escalated_at',
  dispatchDueAt: 'dispatch_due_at',
  dispatchOverdue: 'dispatch_overdue',
  nextEscalationAt: 'next_escalation_at',
};

const counterColumns: { readonly [C in CaseCounter]: string } = {
  extensionCount: 'extension_count',
  reworkCount: 'rework_count',
};

/** The case a registration just inserted on this connection (its id sequence's last value). */
export const insertedCaseId = `currval(pg_get_serial_sequence('cases', 'id'))`;

/**
 * The statement that applies a transition's effect when the case is still in
 * `expectedState`, with the next version: to case `id`, or to the one
 * `insertedCaseId` names.
 */
export function caseRowUpdate(
  id: number | typeof insertedCaseId,
  expectedState: string,
  at: string,
  effect: CaseEffect,
): { text: string; params: unknown[] } {
  const sets: string[] = [];
  const params: unknown[] = [expectedState, at];
  for (const field of Object.keys(fieldColumns) as (keyof CaseFields)[]) {
    const value = effect.set[field];
    if (value === undefined) continue;
    params.push(value);
    sets.push(`${fieldColumns[field]} = $${params.length}`);
  }
  for (const counter of effect.bump ?? []) {
    const column = counterColumns[counter];
    sets.push(`${column} = ${column} + 1`);
  }
  if (typeof id === 'number') params.push(id);
  return {
    text: `UPDATE cases c SET ${[...sets, `version = nextval('case_version_seq')`, 'updated_at = $2'].join(', ')}
     WHERE c.id = ${typeof id === 'number' ? `$${params.length}` : id} AND c.state = $1
     RETURNING ${caseDetailColumns}`,
    params,
  };
}

/**
 * Applies a transition's effect when the case is still in `expectedState` and
 * gives it the next version; null when another change got there first.
 */
export async function updateCaseRow(
  db: Queryable,
  id: number,
  expectedState: string,
  at: string,
  effect: CaseEffect,
): Promise<CaseDetail | null> {
  const { text, params } = caseRowUpdate(id, expectedState, at, effect);
  const { rows } = await db.query<CaseDetail>(text, params);
  return rows[0] ?? null;
}

export interface ManualCaseInput {
  readonly source: 'hotline' | 'inspection' | 'other' | 'citizen';
  readonly kind: 'component' | 'event';
  readonly severity: string;
  readonly title: string;
  readonly description: string | null;
  readonly facilityType: string | null;
  readonly deviceId: string | null;
  readonly gridCode: string | null;
  readonly location: string | null;
  readonly lat: number | null;
  readonly lon: number | null;
  /** GB/T 30428.2 class; default: the facility type's (domain manualCategoryOf). */
  readonly categoryCode?: string | null;
}

/** The deadline parameters of a registration insert: due, unit, minutes, dispatch due. */
export const deadlineParams = (d: CaseDeadlines | null) =>
  [d?.dueAt ?? null, d?.unit ?? null, d?.handleMinutes ?? null, d?.dispatchDueAt ?? null] as const;

/**
 * Registers (立案) a case an operator enters: a 12345 hotline call or an
 * inspector's finding, with its deadlines when it has any. The code starts
 * with `codePrefix` (domain `caseCodePrefix`). An area-scoped user registers
 * only inside its area: the grid code, and the device's grid when a device is
 * named, must lie in it; otherwise nothing is inserted and the result is null.
 * HUB_ERR_BAD_REQUEST for an unknown device or grid.
 */
export async function insertManualCase(
  db: Queryable,
  c: ManualCaseInput,
  at: string,
  codePrefix: string,
  scope: CaseScope,
  deadlines: CaseDeadlines | null,
): Promise<CaseDetail | null> {
  const { rows } = await db
    .query<CaseDetail>(
      `WITH next AS (SELECT nextval(pg_get_serial_sequence('cases', 'id')) AS id)
     INSERT INTO cases AS c (id, code, state, kind, severity, title, facility_type, device_id,
                             grid_code, source, description, location, lat, lon, created_at,
                             updated_at, due_at, next_escalation_at, deadline_unit, handle_minutes,
                             dispatch_due_at, category_code)
     SELECT next.id,
            $13::text || lpad(next.id::text, ${caseCodeIdWidth}, '0'),
            'registered', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12,
            $16::timestamptz, $16::timestamptz, coalesce($17::text, 'calendar'), $18::int,
            $19::timestamptz, $20
     FROM (SELECT $6::text AS grid_code, NULL::text AS crew_id) c, next
     WHERE ${scopeCondition(14, 15)}
       AND ($15::text IS NULL OR $5::text IS NULL OR EXISTS (
             SELECT 1 FROM devices d WHERE d.id = $5 AND left(d.grid_code, length($15)) = $15))
     RETURNING ${caseDetailColumns}`,
      [
        c.kind,
        c.severity,
        c.title,
        c.facilityType,
        c.deviceId,
        c.gridCode,
        c.source,
        c.description,
        c.location,
        c.lat,
        c.lon,
        at,
        codePrefix,
        scope.crewId,
        scope.area,
        ...deadlineParams(deadlines),
        manualCategoryOf(c.categoryCode, (c.facilityType as FacilityType | null) ?? null, c.kind),
      ],
    )
    .catch(
      violationAs({ foreignKey: new HubError('HUB_ERR_BAD_REQUEST', 'unknown device or grid') }),
    );
  return rows[0] ?? null;
}

export interface Route {
  readonly departmentId: string;
  readonly crewId: string | null;
}

/** The route the dispatcher takes: the first of the ranked matches (db/admin.ts). */
export async function findRoute(
  db: Queryable,
  facilityType: string | null,
  gridCode: string | null,
  categoryCode: string | null = null,
): Promise<Route | null> {
  const [best] = await matchingRoutes(db, facilityType, gridCode, 1, categoryCode);
  return best ? { departmentId: best.departmentId, crewId: best.crewId } : null;
}

export async function getCrew(
  db: Queryable,
  id: string,
): Promise<{ id: string; departmentId: string; name: string } | null> {
  const { rows } = await db.query<{ id: string; departmentId: string; name: string }>(
    `SELECT id, department_id AS "departmentId", name FROM crews WHERE id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

export async function ruleCasePolicy(
  db: Queryable,
  ruleId: string,
): Promise<{ openCase: boolean; autoVerifyAfterS: number | null }> {
  const { rows } = await db.query<{ openCase: boolean; autoVerifyAfterS: number | null }>(
    `SELECT open_case AS "openCase", auto_verify_after_s AS "autoVerifyAfterS"
     FROM rule_case_policies WHERE rule_id = $1`,
    [ruleId],
  );
  return rows[0] ?? { openCase: true, autoVerifyAfterS: null };
}

export async function parentArea(db: Queryable, code: string): Promise<string | null> {
  const { rows } = await db.query<{ parent: string | null }>(
    `SELECT parent_code AS parent FROM areas WHERE code = $1`,
    [code],
  );
  return rows[0]?.parent ?? null;
}

export async function insertCasePhoto(
  db: Queryable,
  p: {
    caseId: number;
    fileName: string;
    contentType: string;
    bytes: number;
    uploadedBy: number | null;
  },
): Promise<{ id: number }> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO case_photos (case_id, file_name, content_type, bytes, uploaded_by)
     VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [p.caseId, p.fileName, p.contentType, p.bytes, p.uploadedBy],
  );
  return rows[0]!;
}

export async function getCasePhoto(
  db: Queryable,
  caseId: number,
  id: number,
): Promise<{ fileName: string; contentType: string } | null> {
  const { rows } = await db.query<{ fileName: string; contentType: string }>(
    `SELECT file_name AS "fileName", content_type AS "contentType" FROM case_photos
     WHERE case_id = $1 AND id = $2`,
    [caseId, id],
  );
  return rows[0] ?? null;
}
