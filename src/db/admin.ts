import {
  HubError,
  severities,
  type CaseDeadline,
  type Crew,
  type Department,
  type DispatchRoute,
} from '../domain/index.js';
import type { Queryable } from './pool.js';
import { violationAs } from './sql-errors.js';

/**
 * The tables a city's admin keeps (decision 0109): departments, crews, the
 * dispatch routing table, case deadlines and per-rule case policies. The case
 * service reads them on every use, so an edit applies to the next case
 * without a restart.
 */

export interface RuleCasePolicy {
  readonly ruleId: string;
  readonly openCase: boolean;
  readonly autoVerifyAfterS: number | null;
}

/** What still refers to a row; a delete is refused while any count is above zero. */
export type References = Record<string, number>;

function inUse(refs: References): boolean {
  return Object.values(refs).some((n) => n > 0);
}

/**
 * A delete refused while something refers to the row: the counted references,
 * or the foreign key when a reference was added between the count and the delete.
 */
async function deleteUnlessReferenced(
  what: string,
  remove: Promise<{ refs: References }>,
): Promise<void> {
  const { refs } = await remove.catch(
    violationAs({ foreignKey: new HubError('HUB_ERR_IN_USE', 'a reference was just added') }),
  );
  if (!inUse(refs)) return;
  const uses = Object.entries(refs)
    .filter(([, n]) => n > 0)
    .map(([table, n]) => `${n} ${table}`)
    .join(', ');
  throw new HubError('HUB_ERR_IN_USE', `${what} is referred to by ${uses}`);
}

/** Unique and foreign-key violations of an admin's write, worded for the admin. */
const adminWriteError = (what: string) =>
  violationAs({
    unique: new HubError('HUB_ERR_EXISTS', what),
    foreignKey: new HubError('HUB_ERR_BAD_REQUEST', `${what}: unknown department or crew`),
  });

// ---- departments

export async function listDepartments(db: Queryable): Promise<Department[]> {
  const { rows } = await db.query<Department>(
    `SELECT d.id, d.name, (SELECT count(*)::int FROM crews c WHERE c.department_id = d.id) AS crews
     FROM departments d ORDER BY d.id`,
  );
  return rows;
}

export async function getDepartment(db: Queryable, id: string): Promise<Department | null> {
  const { rows } = await db.query<Department>(
    `SELECT d.id, d.name, (SELECT count(*)::int FROM crews c WHERE c.department_id = d.id) AS crews
     FROM departments d WHERE d.id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

/** null when the id is taken. */
export async function insertDepartment(
  db: Queryable,
  d: { id: string; name: string },
): Promise<Department | null> {
  const { rows } = await db.query<Department>(
    `INSERT INTO departments (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING
     RETURNING id, name, 0 AS crews`,
    [d.id, d.name],
  );
  return rows[0] ?? null;
}

export async function renameDepartment(
  db: Queryable,
  id: string,
  name: string,
): Promise<Department | null> {
  await db.query(`UPDATE departments SET name = $2 WHERE id = $1`, [id, name]);
  return getDepartment(db, id);
}

/**
 * Deletes the department unless something refers to it (HUB_ERR_IN_USE); one
 * statement, so a crew added meanwhile makes the delete fail on its foreign key instead.
 */
export async function deleteDepartment(db: Queryable, id: string): Promise<void> {
  const removed = db.query<{ refs: References }>(
    `WITH refs AS (
       SELECT (SELECT count(*)::int FROM crews WHERE department_id = $1) AS crews,
              (SELECT count(*)::int FROM dispatch_routes WHERE department_id = $1) AS "dispatchRoutes",
              (SELECT count(*)::int FROM users WHERE department_id = $1) AS users,
              (SELECT count(*)::int FROM cases WHERE department_id = $1) AS cases),
     del AS (
       DELETE FROM departments WHERE id = $1
         AND (SELECT crews + "dispatchRoutes" + users + cases FROM refs) = 0
       RETURNING id)
     SELECT to_jsonb(refs) AS refs FROM refs`,
    [id],
  );
  await deleteUnlessReferenced(
    `department ${id}`,
    removed.then(({ rows }) => rows[0]!),
  );
}

// ---- crews

const crewColumns = `c.id, c.department_id AS "departmentId", d.name AS "departmentName", c.name`;

export async function listCrews(db: Queryable, q: { departmentId?: string } = {}): Promise<Crew[]> {
  const { rows } = await db.query<Crew>(
    `SELECT ${crewColumns} FROM crews c JOIN departments d ON d.id = c.department_id
     WHERE ($1::text IS NULL OR c.department_id = $1) ORDER BY c.department_id, c.id`,
    [q.departmentId ?? null],
  );
  return rows;
}

export async function getCrewRecord(db: Queryable, id: string): Promise<Crew | null> {
  const { rows } = await db.query<Crew>(
    `SELECT ${crewColumns} FROM crews c JOIN departments d ON d.id = c.department_id
     WHERE c.id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

/** null when the id is taken; HUB_ERR_BAD_REQUEST for an unknown department. */
export async function insertCrew(
  db: Queryable,
  c: { id: string; departmentId: string; name: string },
): Promise<Crew | null> {
  const { rowCount } = await db
    .query(
      `INSERT INTO crews (id, department_id, name) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
      [c.id, c.departmentId, c.name],
    )
    .catch(adminWriteError(`crew ${c.id}`));
  return rowCount ? getCrewRecord(db, c.id) : null;
}

export async function renameCrew(db: Queryable, id: string, name: string): Promise<Crew | null> {
  await db.query(`UPDATE crews SET name = $2 WHERE id = $1`, [id, name]);
  return getCrewRecord(db, id);
}

/** Deletes the crew unless something refers to it (HUB_ERR_IN_USE), as `deleteDepartment`. */
export async function deleteCrew(db: Queryable, id: string): Promise<void> {
  const removed = db.query<{ refs: References }>(
    `WITH refs AS (
       SELECT (SELECT count(*)::int FROM users WHERE crew_id = $1) AS users,
              (SELECT count(*)::int FROM dispatch_routes WHERE crew_id = $1) AS "dispatchRoutes",
              (SELECT count(*)::int FROM cases WHERE crew_id = $1) AS cases),
     del AS (
       DELETE FROM crews WHERE id = $1 AND (SELECT users + "dispatchRoutes" + cases FROM refs) = 0
       RETURNING id)
     SELECT to_jsonb(refs) AS refs FROM refs`,
    [id],
  );
  await deleteUnlessReferenced(
    `crew ${id}`,
    removed.then(({ rows }) => rows[0]!),
  );
}

// ---- dispatch routes

const routeColumns = `r.id, r.facility_type AS "facilityType", r.area_prefix AS "areaPrefix",
  r.department_id AS "departmentId", r.crew_id AS "crewId", r.category_code AS "categoryCode"`;

/**
 * How the routing table ranks the routes that match a case: the longest area
 * prefix first, then the exact facility type over "any". The dispatcher takes
 * the first; `resolve` shows them all.
 */
const routeOrder = `ORDER BY length(r.area_prefix) DESC, (r.facility_type IS NULL) ASC,
  length(coalesce(r.category_code, '')) DESC, r.id`;

export async function listDispatchRoutes(
  db: Queryable,
  q: { facilityType?: string; departmentId?: string; crewId?: string; area?: string } = {},
): Promise<DispatchRoute[]> {
  const { rows } = await db.query<DispatchRoute>(
    `SELECT ${routeColumns} FROM dispatch_routes r
     WHERE ($1::text IS NULL OR r.facility_type = $1)
       AND ($2::text IS NULL OR r.department_id = $2)
       AND ($3::text IS NULL OR r.crew_id = $3)
       AND ($4::text IS NULL OR r.area_prefix LIKE $4 || '%')
     ORDER BY r.area_prefix, r.facility_type NULLS FIRST, r.id`,
    [q.facilityType ?? null, q.departmentId ?? null, q.crewId ?? null, q.area ?? null],
  );
  return rows;
}

export async function getDispatchRoute(db: Queryable, id: number): Promise<DispatchRoute | null> {
  const { rows } = await db.query<DispatchRoute>(
    `SELECT ${routeColumns} FROM dispatch_routes r WHERE r.id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

/** Every route that matches a facility type and grid, best first (`routeOrder`). */
export async function matchingRoutes(
  db: Queryable,
  facilityType: string | null,
  gridCode: string | null,
  limit = 100,
  categoryCode: string | null = null,
): Promise<DispatchRoute[]> {
  const { rows } = await db.query<DispatchRoute>(
    `SELECT ${routeColumns} FROM dispatch_routes r
     WHERE (r.facility_type IS NULL OR r.facility_type = $1)
       AND coalesce($2, '') LIKE r.area_prefix || '%'
       AND (r.category_code IS NULL OR coalesce($4, '') LIKE r.category_code || '%')
     ${routeOrder} LIMIT $3`,
    [facilityType, gridCode, limit, categoryCode],
  );
  return rows;
}

const routeWhat = (r: Omit<DispatchRoute, 'id'>) =>
  `a route for ${r.facilityType ?? 'any type'} in ${r.areaPrefix || 'the city'}`;

/** HUB_ERR_EXISTS when (facility type, area) is taken, HUB_ERR_BAD_REQUEST for an unknown department or crew. */
export async function insertDispatchRoute(
  db: Queryable,
  r: Omit<DispatchRoute, 'id'>,
): Promise<DispatchRoute> {
  const { rows } = await db
    .query<{ id: number }>(
      `INSERT INTO dispatch_routes (facility_type, area_prefix, department_id, crew_id, category_code)
       VALUES ($1, $2, $3, $4, $5) RETURNING id`,
      [r.facilityType, r.areaPrefix, r.departmentId, r.crewId, r.categoryCode ?? null],
    )
    .catch(adminWriteError(routeWhat(r)));
  return (await getDispatchRoute(db, rows[0]!.id))!;
}

/** null when the route is gone; errors as `insertDispatchRoute`. */
export async function updateDispatchRoute(
  db: Queryable,
  id: number,
  r: Omit<DispatchRoute, 'id'>,
): Promise<DispatchRoute | null> {
  await db
    .query(
      `UPDATE dispatch_routes SET facility_type = $2, area_prefix = $3, department_id = $4, crew_id = $5,
         category_code = $6
       WHERE id = $1`,
      [id, r.facilityType, r.areaPrefix, r.departmentId, r.crewId, r.categoryCode ?? null],
    )
    .catch(adminWriteError(routeWhat(r)));
  return getDispatchRoute(db, id);
}

export async function deleteDispatchRoute(db: Queryable, id: number): Promise<boolean> {
  const { rowCount } = await db.query(`DELETE FROM dispatch_routes WHERE id = $1`, [id]);
  return (rowCount ?? 0) > 0;
}

export async function getArea(
  db: Queryable,
  code: string,
): Promise<{ code: string; level: string; name: string } | null> {
  const { rows } = await db.query<{ code: string; level: string; name: string }>(
    `SELECT code, level, name FROM areas WHERE code = $1`,
    [code],
  );
  return rows[0] ?? null;
}

// ---- case deadlines

const deadlineColumns = `id, severity, facility_type AS "facilityType",
  accept_minutes AS "acceptMinutes", handle_minutes AS "handleMinutes", unit,
  dispatch_minutes AS "dispatchMinutes", dispatch_unit AS "dispatchUnit", source`;

export async function listCaseDeadlines(db: Queryable): Promise<CaseDeadline[]> {
  const { rows } = await db.query<CaseDeadline>(
    `SELECT ${deadlineColumns} FROM case_deadlines
     ORDER BY array_position($1::text[], severity),
              facility_type NULLS FIRST`,
    [severities],
  );
  return rows;
}

export async function getCaseDeadline(db: Queryable, id: number): Promise<CaseDeadline | null> {
  const { rows } = await db.query<CaseDeadline>(
    `SELECT ${deadlineColumns} FROM case_deadlines WHERE id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

type DeadlineTiming = 'unit' | 'dispatchMinutes' | 'dispatchUnit';

/** HUB_ERR_EXISTS when (severity, facility type) is taken. Unset timing: calendar, dispatch 1 working hour. */
export async function insertCaseDeadline(
  db: Queryable,
  d: Omit<CaseDeadline, 'id' | DeadlineTiming> & Partial<Pick<CaseDeadline, DeadlineTiming>>,
): Promise<CaseDeadline> {
  const what = `a deadline for ${d.severity} × ${d.facilityType ?? 'any type'}`;
  const { rows } = await db
    .query<CaseDeadline>(
      `INSERT INTO case_deadlines (severity, facility_type, accept_minutes, handle_minutes, source,
       unit, dispatch_minutes, dispatch_unit)
     VALUES ($1, $2, $3, $4, $5, coalesce($6, 'calendar'), coalesce($7, 60), coalesce($8, 'working'))
     RETURNING ${deadlineColumns}`,
      [
        d.severity,
        d.facilityType,
        d.acceptMinutes,
        d.handleMinutes,
        d.source,
        d.unit ?? null,
        d.dispatchMinutes ?? null,
        d.dispatchUnit ?? null,
      ],
    )
    .catch(adminWriteError(what));
  return rows[0]!;
}

export async function updateCaseDeadline(
  db: Queryable,
  id: number,
  d: Partial<Pick<CaseDeadline, 'acceptMinutes' | 'handleMinutes' | 'source' | DeadlineTiming>>,
): Promise<CaseDeadline | null> {
  const { rows } = await db.query<CaseDeadline>(
    `UPDATE case_deadlines SET accept_minutes = coalesce($2, accept_minutes),
       handle_minutes = coalesce($3, handle_minutes), source = coalesce($4, source),
       unit = coalesce($5, unit), dispatch_minutes = coalesce($6, dispatch_minutes),
       dispatch_unit = coalesce($7, dispatch_unit)
     WHERE id = $1 RETURNING ${deadlineColumns}`,
    [
      id,
      d.acceptMinutes ?? null,
      d.handleMinutes ?? null,
      d.source ?? null,
      d.unit ?? null,
      d.dispatchMinutes ?? null,
      d.dispatchUnit ?? null,
    ],
  );
  return rows[0] ?? null;
}

export async function deleteCaseDeadline(db: Queryable, id: number): Promise<boolean> {
  const { rowCount } = await db.query(`DELETE FROM case_deadlines WHERE id = $1`, [id]);
  return (rowCount ?? 0) > 0;
}

// ---- rule case policies

/**
 * Every rule with the policy in force: its row, or the default (open a case,
 * no auto-verify). `custom` says whether a row exists.
 */
export async function listRuleCasePolicies(
  db: Queryable,
): Promise<(RuleCasePolicy & { title: string | null; custom: boolean })[]> {
  const { rows } = await db.query<RuleCasePolicy & { title: string | null; custom: boolean }>(
    `SELECT coalesce(r.id, p.rule_id) AS "ruleId", r.title,
            coalesce(p.open_case, true) AS "openCase", p.auto_verify_after_s AS "autoVerifyAfterS",
            p.rule_id IS NOT NULL AS custom
     FROM rules r FULL JOIN rule_case_policies p ON p.rule_id = r.id
     ORDER BY 1`,
  );
  return rows;
}

export async function ruleExists(db: Queryable, ruleId: string): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM rules WHERE id = $1`, [ruleId]);
  return (rowCount ?? 0) > 0;
}

export async function upsertRuleCasePolicy(
  db: Queryable,
  p: RuleCasePolicy,
): Promise<RuleCasePolicy> {
  const { rows } = await db.query<RuleCasePolicy>(
    `INSERT INTO rule_case_policies (rule_id, open_case, auto_verify_after_s) VALUES ($1, $2, $3)
     ON CONFLICT (rule_id) DO UPDATE
       SET open_case = EXCLUDED.open_case, auto_verify_after_s = EXCLUDED.auto_verify_after_s
     RETURNING rule_id AS "ruleId", open_case AS "openCase", auto_verify_after_s AS "autoVerifyAfterS"`,
    [p.ruleId, p.openCase, p.autoVerifyAfterS],
  );
  return rows[0]!;
}

export async function deleteRuleCasePolicy(db: Queryable, ruleId: string): Promise<boolean> {
  const { rowCount } = await db.query(`DELETE FROM rule_case_policies WHERE rule_id = $1`, [
    ruleId,
  ]);
  return (rowCount ?? 0) > 0;
}
