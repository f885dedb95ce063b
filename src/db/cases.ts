import {
  alarmCategoryOf,
  caseCodeIdWidth,
  caseKindOf,
  type AlarmRecord,
  type CaseRecord,
} from '../domain/index.js';
import type { Queryable } from './pool.js';

const columns = `id, code, version, state, kind, severity, title, facility_type AS "facilityType",
  device_id AS "deviceId", grid_code AS "gridCode", alarm_id AS "alarmId", recovered_at AS "recoveredAt",
  created_at AS "createdAt", updated_at AS "updatedAt"`;

/**
 * Registers (立案) the case of an alarm; at most one case per alarm. The code
 * is `codePrefix` (domain `caseCodePrefix`: the city's local date) and the id.
 */
export async function registerCaseForAlarm(
  db: Queryable,
  alarm: AlarmRecord,
  codePrefix: string,
): Promise<CaseRecord | null> {
  const { rows } = await db.query<CaseRecord>(
    `WITH next AS (SELECT nextval(pg_get_serial_sequence('cases', 'id')) AS id)
     INSERT INTO cases (id, code, state, kind, severity, title, facility_type, device_id, grid_code, alarm_id,
                        category_code)
     SELECT next.id,
            $8::text || lpad(next.id::text, ${caseCodeIdWidth}, '0'),
            'registered', $1, $2, $3, $4, $5, $6, $7, $9
     FROM next
     ON CONFLICT (alarm_id) DO NOTHING
     RETURNING ${columns}`,
    [
      caseKindOf(alarm.facilityType),
      alarm.severity,
      alarm.title,
      alarm.facilityType,
      alarm.deviceId,
      alarm.gridCode,
      alarm.id,
      codePrefix,
      alarmCategoryOf(alarm.facilityType, caseKindOf(alarm.facilityType)),
    ],
  );
  return rows[0] ?? null;
}

export async function markCaseRecovered(
  db: Queryable,
  alarmId: number,
  atIso: string,
): Promise<CaseRecord | null> {
  const { rows } = await db.query<CaseRecord>(
    `UPDATE cases SET recovered_at = $2, version = nextval('case_version_seq'), updated_at = now()
     WHERE alarm_id = $1 AND recovered_at IS NULL
     RETURNING ${columns}`,
    [alarmId, atIso],
  );
  return rows[0] ?? null;
}

/** An open case follows its alarm's severity (water rising from 25 to 40 cm makes it critical). */
export async function setCaseSeverityFromAlarm(
  db: Queryable,
  alarmId: number,
  severity: string,
): Promise<{ case: CaseRecord; previous: string } | null> {
  const { rows } = await db.query<CaseRecord & { previous: string }>(
    `UPDATE cases c SET severity = $2, version = nextval('case_version_seq'), updated_at = now()
     FROM (SELECT id, severity AS previous FROM cases WHERE alarm_id = $1) p
     WHERE c.id = p.id AND c.severity <> $2 AND c.state NOT IN ('closed', 'cancelled')
     RETURNING ${columns.replace(/(^|,\s*)(\w+)/g, '$1c.$2')}, p.previous`,
    [alarmId, severity],
  );
  if (!rows[0]) return null;
  const { previous, ...updated } = rows[0];
  return { case: updated, previous };
}

export async function listCases(
  db: Queryable,
  q: { state?: string; limit: number; offset: number },
): Promise<{ total: number; cases: CaseRecord[] }> {
  const [total, page] = await Promise.all([
    db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM cases WHERE ($1::text IS NULL OR state = $1)`,
      [q.state ?? null],
    ),
    db.query<CaseRecord>(
      `SELECT ${columns} FROM cases WHERE ($1::text IS NULL OR state = $1)
       ORDER BY id DESC LIMIT $2 OFFSET $3`,
      [q.state ?? null, q.limit, q.offset],
    ),
  ]);
  return { total: total.rows[0]!.n, cases: page.rows };
}

/** Open cases and the version they are current to, for a connecting operator. */
export async function openCasesSnapshot(
  db: Queryable,
): Promise<{ version: number; cases: CaseRecord[] }> {
  const [open, version] = await Promise.all([
    db.query<CaseRecord>(
      `SELECT ${columns} FROM cases WHERE state NOT IN ('closed', 'cancelled') ORDER BY id DESC LIMIT 500`,
    ),
    db.query<{ v: number }>(`SELECT coalesce(max(version), 0)::bigint AS v FROM cases`),
  ]);
  return { version: version.rows[0]!.v, cases: open.rows };
}
