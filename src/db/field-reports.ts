import {
  type Category,
  type DuplicateCandidate,
  type FieldReport,
  type Patrol,
  type RejectReason,
  type SatisfactionRating,
  type TrackPoint,
  type Verification,
  type VerificationResult,
  type VerificationTask,
} from '../domain/index.js';
import type { Queryable } from './pool.js';

/**
 * Field reports (上报), patrols, on-site verifications and citizens' ratings
 * (issue #16; docs/api.md "Reports (上报) …"). Distances are equirectangular
 * metres: exact enough within a city for "within 50 m".
 */

/** SQL: metres between (lat1, lon1) and (lat2, lon2). */
export function metresSql(lat1: string, lon1: string, lat2: string, lon2: string): string {
  return `(6371000 * sqrt(power(radians(${lat2} - ${lat1}), 2)
    + power(radians(${lon2} - ${lon1}) * cos(radians((${lat1} + ${lat2}) / 2)), 2)))`;
}

const reportColumns = `r.id::int, r.code, r.version::int, r.source, r.state,
  r.category_code AS "categoryCode",
  CASE WHEN r.category_code LIKE 'S%' THEN 'event' ELSE 'component' END AS kind,
  r.lat, r.lon, r.accuracy_m AS "accuracyM", r.grid_code AS "gridCode", r.note,
  coalesce((SELECT array_agg(p.id::int ORDER BY p.id) FROM field_report_photos p
            WHERE p.report_id = r.id), '{}') AS "photoIds",
  r.reporter_id::int AS "reporterId", u.display_name AS "reporterName",
  r.patrol_id::int AS "patrolId",
  to_json(r.created_at)#>>'{}' AS "createdAt", to_json(r.accept_due_at)#>>'{}' AS "acceptDueAt",
  (coalesce(r.decided_at, $NOW::timestamptz) > r.accept_due_at) AS "acceptOverdue",
  to_json(r.decided_at)#>>'{}' AS "decidedAt", r.decided_by AS "decidedBy",
  r.case_id::int AS "caseId", c.code AS "caseCode", c.state AS "caseState",
  to_json(c.closed_at)#>>'{}' AS "caseClosedAt",
  r.reject_reason AS "rejectReason", r.reject_note AS "rejectNote",
  r.duplicate_of_case_id::int AS "duplicateOfCaseId", r.merged_into_id::int AS "mergedIntoId",
  rt.rating`;

const reportFrom = `field_reports r
  LEFT JOIN users u ON u.id = r.reporter_id
  LEFT JOIN cases c ON c.id = r.case_id
  LEFT JOIN report_ratings rt ON rt.report_id = r.id`;

/** The select with `$NOW` bound to parameter `n` (the caller's clock). */
const selectReports = (nowParam: number): string =>
  `SELECT ${reportColumns.replace('$NOW', `$${nowParam}`)} FROM ${reportFrom}`;

export interface NewFieldReport {
  readonly code: string;
  readonly source: 'inspection' | 'citizen';
  readonly categoryCode: string;
  readonly lat: number;
  readonly lon: number;
  readonly accuracyM: number | null;
  readonly gridCode: string | null;
  readonly note: string | null;
  readonly reporterId: number | null;
  readonly patrolId: number | null;
  readonly clientHash: string | null;
  readonly fingerprintHash: string | null;
  readonly at: string;
  readonly acceptDueAt: string;
}

export async function insertFieldReport(db: Queryable, r: NewFieldReport): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO field_reports (code, source, state, category_code, lat, lon, accuracy_m, grid_code,
       note, reporter_id, patrol_id, client_hash, fingerprint_hash, created_at, accept_due_at,
       updated_at)
     VALUES ($1, $2, 'reported', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $13)
     RETURNING id::int`,
    [
      r.code,
      r.source,
      r.categoryCode,
      r.lat,
      r.lon,
      r.accuracyM,
      r.gridCode,
      r.note,
      r.reporterId,
      r.patrolId,
      r.clientHash,
      r.fingerprintHash,
      r.at,
      r.acceptDueAt,
    ],
  );
  return rows[0]!.id;
}

export async function insertReportPhoto(
  db: Queryable,
  p: { reportId: number; fileName: string; contentType: string; bytes: number },
): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO field_report_photos (report_id, file_name, content_type, bytes)
     VALUES ($1, $2, $3, $4) RETURNING id::int`,
    [p.reportId, p.fileName, p.contentType, p.bytes],
  );
  return rows[0]!.id;
}

export async function listReportPhotos(
  db: Queryable,
  reportId: number,
): Promise<{ id: number; fileName: string; contentType: string; bytes: number }[]> {
  const { rows } = await db.query<{
    id: number;
    fileName: string;
    contentType: string;
    bytes: number;
  }>(
    `SELECT id::int, file_name AS "fileName", content_type AS "contentType", bytes
     FROM field_report_photos WHERE report_id = $1 ORDER BY id`,
    [reportId],
  );
  return rows;
}

export async function getFieldReport(
  db: Queryable,
  id: number,
  nowIso: string,
): Promise<FieldReport | null> {
  const { rows } = await db.query<FieldReport>(`${selectReports(2)} WHERE r.id = $1`, [id, nowIso]);
  return rows[0] ?? null;
}

export async function getFieldReportByCode(
  db: Queryable,
  code: string,
  nowIso: string,
): Promise<FieldReport | null> {
  const { rows } = await db.query<FieldReport>(`${selectReports(2)} WHERE r.code = $1`, [
    code,
    nowIso,
  ]);
  return rows[0] ?? null;
}

export interface FieldReportFilter {
  readonly state?: string;
  readonly source?: string;
  readonly reporterId?: number | null;
  /** Area prefix of the reader; null: the whole city. */
  readonly area: string | null;
  readonly limit: number;
  readonly offset: number;
  readonly oldestFirst?: boolean;
  /** The reports of one case (accepted or merged into it). */
  readonly caseId?: number;
}

export async function listFieldReports(
  db: Queryable,
  f: FieldReportFilter,
  nowIso: string,
): Promise<FieldReport[]> {
  const { rows } = await db.query<FieldReport>(
    `${selectReports(1)}
     WHERE ($2::text IS NULL OR r.state = $2) AND ($3::text IS NULL OR r.source = $3)
       AND ($4::bigint IS NULL OR r.reporter_id = $4)
       AND ($5::text IS NULL OR coalesce(left(r.grid_code, length($5)) = $5, false))
       AND ($8::bigint IS NULL OR r.case_id = $8)
     ORDER BY r.created_at ${f.oldestFirst ? 'ASC' : 'DESC'}, r.id LIMIT $6 OFFSET $7`,
    [
      nowIso,
      f.state ?? null,
      f.source ?? null,
      f.reporterId ?? null,
      f.area,
      f.limit,
      f.offset,
      f.caseId ?? null,
    ],
  );
  return rows;
}

/**
 * Possible duplicates of a report: other live reports and open cases of the
 * same category within `metres` and `hours` of it, nearest first.
 */
export async function duplicatesOf(
  db: Queryable,
  r: Pick<FieldReport, 'id' | 'categoryCode' | 'lat' | 'lon' | 'createdAt' | 'caseId'>,
  o: { metres: number; hours: number },
): Promise<DuplicateCandidate[]> {
  const { rows } = await db.query<DuplicateCandidate>(
    `SELECT * FROM (
       SELECT 'report' AS type, o.id::int, o.code, o.category_code AS "categoryCode",
              round(${metresSql('$2', '$3', 'o.lat', 'o.lon')})::int AS "distanceM",
              to_json(o.created_at)#>>'{}' AS "createdAt", o.state
       FROM field_reports o
       WHERE o.id <> $1 AND o.category_code = $4 AND o.state IN ('reported', 'accepted')
         AND abs(extract(epoch FROM o.created_at - $5::timestamptz)) <= $7 * 3600
       UNION ALL
       SELECT 'case', c.id::int, c.code, c.category_code,
              round(${metresSql('$2', '$3', 'c.lat', 'c.lon')})::int,
              to_json(c.created_at)#>>'{}', c.state
       FROM cases c
       WHERE c.category_code = $4 AND c.lat IS NOT NULL AND c.lon IS NOT NULL
         AND c.state NOT IN ('closed', 'cancelled') AND c.id IS DISTINCT FROM $8
         AND abs(extract(epoch FROM c.created_at - $5::timestamptz)) <= $7 * 3600
     ) d WHERE "distanceM" <= $6 ORDER BY "distanceM", "createdAt" LIMIT 20`,
    [r.id, r.lat, r.lon, r.categoryCode, r.createdAt, o.metres, o.hours, r.caseId],
  );
  return rows;
}

/** The grid of the nearest device within `metres`, or null. */
export async function nearestDeviceGrid(
  db: Queryable,
  lat: number,
  lon: number,
  metres: number,
): Promise<string | null> {
  const { rows } = await db.query<{ gridCode: string }>(
    `SELECT grid_code AS "gridCode" FROM devices d
     WHERE d.lat IS NOT NULL AND d.lon IS NOT NULL
       AND abs(d.lat - $1) < 0.05 AND abs(d.lon - $2) < 0.05
       AND ${metresSql('$1', '$2', 'd.lat', 'd.lon')} <= $3
     ORDER BY ${metresSql('$1', '$2', 'd.lat', 'd.lon')} LIMIT 1`,
    [lat, lon, metres],
  );
  return rows[0]?.gridCode ?? null;
}

export async function gridExists(db: Queryable, code: string): Promise<boolean> {
  const { rows } = await db.query(`SELECT 1 FROM areas WHERE code = $1 AND level = 'grid'`, [code]);
  return rows.length > 0;
}

/** Sets the decision of a report still `reported`; false when it was not. */
export async function decideReport(
  db: Queryable,
  id: number,
  d: {
    state: 'accepted' | 'rejected' | 'merged';
    at: string;
    by: string;
    caseId?: number | null;
    rejectReason?: RejectReason | null;
    rejectNote?: string | null;
    duplicateOfCaseId?: number | null;
    mergedIntoId?: number | null;
  },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE field_reports SET state = $2, decided_at = $3, decided_by = $4,
       case_id = coalesce($5, case_id), reject_reason = $6, reject_note = $7,
       duplicate_of_case_id = $8, merged_into_id = $9, updated_at = $3,
       version = nextval('field_report_version_seq')
     WHERE id = $1 AND state = 'reported'`,
    [
      id,
      d.state,
      d.at,
      d.by,
      d.caseId ?? null,
      d.rejectReason ?? null,
      d.rejectNote ?? null,
      d.duplicateOfCaseId ?? null,
      d.mergedIntoId ?? null,
    ],
  );
  return (rowCount ?? 0) > 0;
}

/** Back to the queue (an acceptance whose case could not be registered). */
export async function undecideReport(db: Queryable, id: number): Promise<void> {
  await db.query(
    `UPDATE field_reports SET state = 'reported', decided_at = NULL, decided_by = NULL,
       version = nextval('field_report_version_seq') WHERE id = $1`,
    [id],
  );
}

/** Links a report, and every report merged into it, to its case; returns the ids changed. */
export async function linkReportCase(
  db: Queryable,
  reportId: number,
  caseId: number,
  at: string,
): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `UPDATE field_reports SET case_id = $2, updated_at = $3,
       version = nextval('field_report_version_seq')
     WHERE id = $1 OR merged_into_id = $1 RETURNING id::int`,
    [reportId, caseId, at],
  );
  return rows.map((r) => r.id);
}

/** Rejects the reports merged into a rejected one, with its reason; returns their ids. */
export async function rejectMergedInto(
  db: Queryable,
  reportId: number,
  d: { at: string; reason: RejectReason; note: string | null; duplicateOfCaseId: number | null },
): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `UPDATE field_reports SET state = 'rejected', reject_reason = $3, reject_note = $4,
       duplicate_of_case_id = $5, updated_at = $2, version = nextval('field_report_version_seq')
     WHERE merged_into_id = $1 AND state = 'merged' RETURNING id::int`,
    [reportId, d.at, d.reason, d.note, d.duplicateOfCaseId],
  );
  return rows.map((r) => r.id);
}

export async function insertRating(
  db: Queryable,
  r: { reportId: number; rating: SatisfactionRating; comment: string | null; at: string },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO report_ratings (report_id, rating, comment, at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (report_id) DO NOTHING`,
    [r.reportId, r.rating, r.comment, r.at],
  );
  return (rowCount ?? 0) > 0;
}

/** Active inspectors whose area holds `gridCode` (their user ids). */
export async function inspectorsOfGrid(db: Queryable, gridCode: string): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `SELECT id::int FROM users
     WHERE role = 'inspector' AND enabled AND area_code IS NOT NULL
       AND left($1, length(area_code)) = area_code`,
    [gridCode],
  );
  return rows.map((r) => r.id);
}

// ---- Categories (admin overrides) ----

export async function listCategoryOverrides(
  db: Queryable,
): Promise<Pick<Category, 'code' | 'label' | 'public'>[]> {
  const { rows } = await db.query<{ code: string; zh: string; en: string; public: boolean }>(
    `SELECT code, label_zh AS zh, label_en AS en, public FROM case_categories ORDER BY code`,
  );
  return rows.map((r) => ({ code: r.code, label: { zh: r.zh, en: r.en }, public: r.public }));
}

export async function putCategoryOverride(
  db: Queryable,
  o: { code: string; zh: string; en: string; public: boolean },
): Promise<void> {
  await db.query(
    `INSERT INTO case_categories (code, label_zh, label_en, public) VALUES ($1, $2, $3, $4)
     ON CONFLICT (code) DO UPDATE SET label_zh = $2, label_en = $3, public = $4, updated_at = now()`,
    [o.code, o.zh, o.en, o.public],
  );
}

// ---- Patrols ----

const patrolColumns = `p.id::int, p.inspector_id::int AS "inspectorId", u.display_name AS "inspectorName",
  p.grid_code AS "gridCode", to_json(p.started_at)#>>'{}' AS "startedAt",
  to_json(p.ended_at)#>>'{}' AS "endedAt",
  (SELECT count(*)::int FROM patrol_points pt WHERE pt.patrol_id = p.id) AS "pointCount",
  (SELECT count(*)::int FROM field_reports fr WHERE fr.patrol_id = p.id) AS "reportCount"`;

type PatrolRow = Omit<Patrol, 'distanceM' | 'gapCount'>;

export async function startPatrol(
  db: Queryable,
  p: { inspectorId: number; gridCode: string | null; at: string },
): Promise<number | null> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO patrols (inspector_id, grid_code, started_at) VALUES ($1, $2, $3)
     ON CONFLICT (inspector_id) WHERE ended_at IS NULL DO NOTHING RETURNING id::int`,
    [p.inspectorId, p.gridCode, p.at],
  );
  return rows[0]?.id ?? null;
}

export async function getPatrolRow(db: Queryable, id: number): Promise<PatrolRow | null> {
  const { rows } = await db.query<PatrolRow>(
    `SELECT ${patrolColumns} FROM patrols p JOIN users u ON u.id = p.inspector_id WHERE p.id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

export async function listPatrolRows(
  db: Queryable,
  q: { inspectorId: number | null; area: string | null; limit: number },
): Promise<PatrolRow[]> {
  const { rows } = await db.query<PatrolRow>(
    `SELECT ${patrolColumns} FROM patrols p JOIN users u ON u.id = p.inspector_id
     WHERE ($1::bigint IS NULL OR p.inspector_id = $1)
       AND ($2::text IS NULL OR coalesce(left(p.grid_code, length($2)) = $2, false))
     ORDER BY p.started_at DESC, p.id DESC LIMIT $3`,
    [q.inspectorId, q.area, q.limit],
  );
  return rows;
}

export async function endPatrol(db: Queryable, id: number, at: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE patrols SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL`,
    [id, at],
  );
  return (rowCount ?? 0) > 0;
}

export async function insertTrackPoints(
  db: Queryable,
  patrolId: number,
  points: readonly TrackPoint[],
): Promise<number> {
  if (points.length === 0) return 0;
  const { rowCount } = await db.query(
    `INSERT INTO patrol_points (patrol_id, at, lat, lon, accuracy_m)
     SELECT $1, * FROM unnest($2::timestamptz[], $3::float8[], $4::float8[], $5::real[])
     ON CONFLICT DO NOTHING`,
    [
      patrolId,
      points.map((p) => p.at),
      points.map((p) => p.lat),
      points.map((p) => p.lon),
      points.map((p) => p.accuracyM),
    ],
  );
  return rowCount ?? 0;
}

export async function trackOf(db: Queryable, patrolId: number): Promise<TrackPoint[]> {
  const { rows } = await db.query<TrackPoint>(
    `SELECT to_json(at)#>>'{}' AS at, lat, lon, accuracy_m AS "accuracyM"
     FROM patrol_points WHERE patrol_id = $1 ORDER BY at`,
    [patrolId],
  );
  return rows;
}

// ---- On-site verification ----

/** `handled` cases in an area (null: the city) with their verification deadline. */
export async function verificationTasks(
  db: Queryable,
  q: { area: string | null; verifyMinutes: number; nowIso: string },
): Promise<VerificationTask[]> {
  const { rows } = await db.query<VerificationTask>(
    `SELECT c.id::int AS "caseId", c.code AS "caseCode", c.title, c.category_code AS "categoryCode",
            c.grid_code AS "gridCode", c.lat, c.lon, to_json(c.handled_at)#>>'{}' AS "handledAt",
            to_json(c.handled_at + make_interval(mins => $2))#>>'{}' AS "verifyDueAt",
            (c.handled_at + make_interval(mins => $2) < $3::timestamptz) AS overdue
     FROM cases c
     WHERE c.state = 'handled' AND c.handled_at IS NOT NULL
       AND ($1::text IS NULL OR coalesce(left(c.grid_code, length($1)) = $1, false))
     ORDER BY c.handled_at`,
    [q.area, q.verifyMinutes, q.nowIso],
  );
  return rows;
}

const verificationColumns = `id::int, case_id::int AS "caseId", result, note,
  photo_ids::int[] AS "photoIds", inspector_id::int AS "inspectorId",
  inspector_name AS "inspectorName", to_json(at)#>>'{}' AS at, to_json(due_at)#>>'{}' AS "dueAt",
  (due_at IS NULL OR at <= due_at) AS "onTime"`;

export async function insertVerification(
  db: Queryable,
  v: {
    caseId: number;
    result: VerificationResult;
    note: string | null;
    photoIds: readonly number[];
    inspectorId: number | null;
    inspectorName: string;
    byRole: string;
    handledAt: string | null;
    dueAt: string | null;
    at: string;
  },
): Promise<Verification> {
  const { rows } = await db.query<Verification>(
    `INSERT INTO case_verifications (case_id, result, note, photo_ids, inspector_id,
       inspector_name, by_role, handled_at, due_at, at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${verificationColumns}`,
    [
      v.caseId,
      v.result,
      v.note,
      v.photoIds,
      v.inspectorId,
      v.inspectorName,
      v.byRole,
      v.handledAt,
      v.dueAt,
      v.at,
    ],
  );
  return rows[0]!;
}

export async function listVerifications(db: Queryable, caseId: number): Promise<Verification[]> {
  const { rows } = await db.query<Verification>(
    `SELECT ${verificationColumns} FROM case_verifications WHERE case_id = $1 ORDER BY at, id`,
    [caseId],
  );
  return rows;
}

// ---- Indicators (issue #16, item 6; docs/evaluation.md) ----

export interface FieldIndicatorRow {
  readonly key: string | null;
  readonly reportsReceived: number;
  readonly reportsDecided: number;
  readonly validReports: number;
  readonly acceptedOnTime: number;
  readonly verifications: number;
  readonly verifiedOnTime: number;
  readonly ratings: number;
  readonly satisfied: number;
}

/**
 * Report, verification and rating counts of a period per unit: `grid`-level
 * area codes cut at `areaLength` (null: one row for the city), or per
 * inspector (`byInspector`: key is the inspector's user id).
 */
export async function fieldIndicatorRows(
  db: Queryable,
  q: {
    from: string;
    to: string;
    area: string | null;
    areaLength: number | null;
    byInspector: boolean;
    satisfied: readonly string[];
  },
): Promise<FieldIndicatorRow[]> {
  const keyOf = (grid: string, inspector: string): string =>
    q.byInspector
      ? `${inspector}::text`
      : q.areaLength === null
        ? // The city's code, as caseKpis keys its one row.
          `(SELECT a.code FROM areas a WHERE a.level = 'city' ORDER BY a.code LIMIT 1)`
        : `left(${grid}, ${Number(q.areaLength)})`;
  const inArea = (grid: string) =>
    `($3::text IS NULL OR coalesce(left(${grid}, length($3)) = $3, false))`;
  const { rows } = await db.query<FieldIndicatorRow>(
    `WITH rep AS (
       SELECT ${keyOf('r.grid_code', 'r.reporter_id')} AS key,
              count(*)::int AS "reportsReceived",
              count(*) FILTER (WHERE r.decided_at IS NOT NULL)::int AS "reportsDecided",
              count(*) FILTER (WHERE r.state IN ('accepted', 'merged'))::int AS "validReports",
              count(*) FILTER (WHERE r.decided_at IS NOT NULL AND r.decided_at <= r.accept_due_at)::int
                AS "acceptedOnTime"
       FROM field_reports r
       WHERE r.created_at >= $1 AND r.created_at < $2 AND ${inArea('r.grid_code')}
         ${q.byInspector ? `AND r.source = 'inspection'` : ''}
       GROUP BY 1),
     ver AS (
       SELECT ${keyOf('c.grid_code', 'v.inspector_id')} AS key, count(*)::int AS verifications,
              count(*) FILTER (WHERE v.due_at IS NULL OR v.at <= v.due_at)::int AS "verifiedOnTime"
       FROM case_verifications v JOIN cases c ON c.id = v.case_id
       WHERE v.by_role = 'inspector' AND v.at >= $1 AND v.at < $2 AND ${inArea('c.grid_code')}
       GROUP BY 1),
     rat AS (
       SELECT ${keyOf('r.grid_code', 'r.reporter_id')} AS key, count(*)::int AS ratings,
              count(*) FILTER (WHERE t.rating = ANY($4::text[]))::int AS satisfied
       FROM report_ratings t JOIN field_reports r ON r.id = t.report_id
       WHERE t.at >= $1 AND t.at < $2 AND ${inArea('r.grid_code')}
       GROUP BY 1)
     SELECT k.key,
            coalesce(rep."reportsReceived", 0) AS "reportsReceived",
            coalesce(rep."reportsDecided", 0) AS "reportsDecided",
            coalesce(rep."validReports", 0) AS "validReports",
            coalesce(rep."acceptedOnTime", 0) AS "acceptedOnTime",
            coalesce(ver.verifications, 0) AS verifications,
            coalesce(ver."verifiedOnTime", 0) AS "verifiedOnTime",
            coalesce(rat.ratings, 0) AS ratings, coalesce(rat.satisfied, 0) AS satisfied
     FROM (SELECT key FROM rep UNION SELECT key FROM ver UNION SELECT key FROM rat) k
     LEFT JOIN rep ON rep.key IS NOT DISTINCT FROM k.key
     LEFT JOIN ver ON ver.key IS NOT DISTINCT FROM k.key
     LEFT JOIN rat ON rat.key IS NOT DISTINCT FROM k.key
     ORDER BY k.key`,
    [q.from, q.to, q.area, q.satisfied],
  );
  return rows;
}

/** Case counts of a period by category (the evaluation's breakdown). */
export async function casesByCategory(
  db: Queryable,
  q: { from: string; to: string; area: string | null },
): Promise<{ categoryCode: string | null; cases: number }[]> {
  const { rows } = await db.query<{ categoryCode: string | null; cases: number }>(
    `SELECT category_code AS "categoryCode", count(*)::int AS cases FROM cases c
     WHERE c.created_at >= $1 AND c.created_at < $2
       AND ($3::text IS NULL OR coalesce(left(c.grid_code, length($3)) = $3, false))
     GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20`,
    [q.from, q.to, q.area],
  );
  return rows;
}
