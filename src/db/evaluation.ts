import type { Queryable } from './pool.js';

/** Stored period reports and the score weights (issue #15, docs/evaluation.md). */

import type { ReportKind } from '../domain/index.js';

export type { ReportKind };

export interface ReportSummary {
  readonly id: number;
  readonly kind: ReportKind;
  readonly period: string;
  readonly version: number;
  readonly generatedAt: string;
  readonly generatedBy: string;
}

export interface StoredReport extends ReportSummary {
  readonly figures: Record<string, unknown>;
}

const summaryColumns = `id::int, kind, period, version,
  to_json(generated_at)#>>'{}' AS "generatedAt", generated_by AS "generatedBy"`;

/**
 * Stores a report as version 1, unless one exists: two leaders in a handover
 * both trying give one row. Returns null when it existed.
 */
export async function insertFirstReport(
  db: Queryable,
  r: { kind: ReportKind; period: string; generatedBy: string; figures: unknown },
): Promise<ReportSummary | null> {
  const { rows } = await db.query<ReportSummary>(
    `INSERT INTO evaluation_reports (kind, period, version, generated_by, figures)
     VALUES ($1, $2, 1, $3, $4)
     ON CONFLICT (kind, period, version) DO NOTHING
     RETURNING ${summaryColumns}`,
    [r.kind, r.period, r.generatedBy, JSON.stringify(r.figures)],
  );
  return rows[0] ?? null;
}

/** Stores a regenerated report as the next version of its period. */
export async function insertReportVersion(
  db: Queryable,
  r: { kind: ReportKind; period: string; generatedBy: string; figures: unknown },
): Promise<ReportSummary> {
  // Two regenerations at once: the unique key refuses the second; try the next number.
  for (let attempt = 0; ; attempt++) {
    try {
      const { rows } = await db.query<ReportSummary>(
        `INSERT INTO evaluation_reports (kind, period, version, generated_by, figures)
         SELECT $1, $2, coalesce(max(version), 0) + 1, $3, $4
         FROM evaluation_reports WHERE kind = $1 AND period = $2
         RETURNING ${summaryColumns}`,
        [r.kind, r.period, r.generatedBy, JSON.stringify(r.figures)],
      );
      return rows[0]!;
    } catch (err) {
      if ((err as { code?: string }).code !== '23505' || attempt >= 3) throw err;
    }
  }
}

export async function reportExists(
  db: Queryable,
  kind: ReportKind,
  period: string,
): Promise<boolean> {
  const { rows } = await db.query(
    'SELECT 1 FROM evaluation_reports WHERE kind = $1 AND period = $2 LIMIT 1',
    [kind, period],
  );
  return rows.length > 0;
}

export async function listReports(
  db: Queryable,
  q: { kind?: ReportKind; period?: string; limit: number },
): Promise<ReportSummary[]> {
  const { rows } = await db.query<ReportSummary>(
    `SELECT ${summaryColumns} FROM evaluation_reports
     WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR period = $2)
     ORDER BY generated_at DESC, id DESC LIMIT $3`,
    [q.kind ?? null, q.period ?? null, q.limit],
  );
  return rows;
}

export async function getReport(db: Queryable, id: number): Promise<StoredReport | null> {
  const { rows } = await db.query<StoredReport>(
    `SELECT ${summaryColumns}, figures FROM evaluation_reports WHERE id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

export async function getScoreWeights(db: Queryable): Promise<Record<string, number> | null> {
  const { rows } = await db.query<{ weights: Record<string, number> }>(
    'SELECT weights FROM evaluation_settings WHERE id',
  );
  return rows[0]?.weights ?? null;
}

export async function putScoreWeights(
  db: Queryable,
  weights: Record<string, number>,
  updatedBy: string,
): Promise<void> {
  await db.query(
    `INSERT INTO evaluation_settings (id, weights, updated_by) VALUES (true, $1, $2)
     ON CONFLICT (id) DO UPDATE SET weights = $1, updated_at = now(), updated_by = $2`,
    [JSON.stringify(weights), updatedBy],
  );
}

/** Names of the units an evaluation ranks: areas by code, departments and crews by id. */
export async function unitNames(
  db: Queryable,
  level: 'area' | 'department' | 'crew' | 'inspector',
): Promise<Map<string, string>> {
  const sql = {
    area: 'SELECT code AS key, name FROM areas',
    department: 'SELECT id AS key, name FROM departments',
    crew: 'SELECT id AS key, name FROM crews',
    inspector: `SELECT id::text AS key, display_name AS name FROM users WHERE role = 'inspector'`,
  }[level];
  const { rows } = await db.query<{ key: string; name: string }>(sql);
  return new Map(rows.map((r) => [r.key, r.name]));
}

/** Alarms opened in [from, to), by severity and facility type: the daily report's first table. */
export async function alarmsOpened(
  db: Queryable,
  q: { from: string; to: string },
): Promise<{ severity: string; facilityType: string; alarms: number }[]> {
  const { rows } = await db.query<{ severity: string; facilityType: string; alarms: number }>(
    `SELECT severity, facility_type AS "facilityType", count(*)::int AS alarms
     FROM alarms WHERE opened_at >= $1 AND opened_at < $2
     GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2`,
    [q.from, q.to],
  );
  return rows;
}

/** Cases closed in [from, to) whenever registered, and cases open and overdue at `asOf`. */
export async function caseFlow(
  db: Queryable,
  q: { from: string; to: string; asOf: string },
): Promise<{ closed: number; overdueOpen: number }> {
  const { rows } = await db.query<{ closed: number; overdueOpen: number }>(
    `SELECT
       (SELECT count(*)::int FROM cases WHERE closed_at >= $1 AND closed_at < $2) AS closed,
       (SELECT count(*)::int FROM cases
         WHERE due_at <= $3 AND created_at <= $3 AND (handled_at IS NULL OR handled_at > $3)
           AND state NOT IN ('cancelled', 'deferred')) AS "overdueOpen"`,
    [q.from, q.to, q.asOf],
  );
  return rows[0]!;
}
