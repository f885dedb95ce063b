import {
  severities,
  type AlarmRecord,
  type AlarmSourceKind,
  type FacilityType,
  type Severity,
} from '../domain/index.js';
import type { Queryable } from './pool.js';

export const alarmColumns = `id, source, source_kind AS "sourceKind", device_id AS "deviceId", rule_id AS "ruleId",
  rule_version AS "ruleVersion", facility_type AS "facilityType", grid_code AS "gridCode", severity, state,
  title, metric, threshold, last_value AS "lastValue", peak_value AS "peakValue", count,
  first_reading_at AS "firstReadingAt", last_reading_at AS "lastReadingAt", opened_at AS "openedAt",
  cleared_at AS "clearedAt", flapping, acknowledged_at AS "acknowledgedAt",
  acknowledged_by AS "acknowledgedBy", explain, version, ack_comment AS "ackComment",
  shelved_until AS "shelvedUntil", shelved_by AS "shelvedBy", shelve_comment AS "shelveComment"`;

type Value = number | boolean | string | null;

export interface AlarmOpening {
  /** A device id, or an area source such as `street:430302001`. */
  readonly source?: string;
  readonly sourceKind?: AlarmSourceKind;
  readonly deviceId: string | null;
  readonly ruleId: string;
  readonly ruleVersion: number;
  readonly facilityType: FacilityType | 'all';
  readonly gridCode: string;
  readonly severity: Severity;
  readonly title: string;
  readonly metric: string;
  readonly threshold: Value;
  readonly value: Value;
  readonly firstReadingMs: number;
  readonly lastReadingMs: number;
  readonly explain?: Record<string, unknown>;
}

/**
 * Opens an alarm, or, when one is already open for the same (source, rule),
 * updates that one: the partial unique index makes a duplicate impossible even
 * when two evaluators race.
 */
export async function openAlarm(
  db: Queryable,
  a: AlarmOpening,
): Promise<{ alarm: AlarmRecord; opened: boolean }> {
  const peak = typeof a.value === 'number' ? a.value : null;
  const { rows } = await db.query<AlarmRecord & { inserted: boolean }>(
    `INSERT INTO alarms (source, source_kind, device_id, rule_id, rule_version, facility_type, grid_code,
       severity, state, title, metric, threshold, last_value, peak_value, first_reading_at, last_reading_at,
       explain)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10, $11::jsonb, $12::jsonb, $13,
       to_timestamp($14 / 1000.0), to_timestamp($15 / 1000.0), $16::jsonb)
     ON CONFLICT (source, rule_id) WHERE state = 'open' DO UPDATE SET
       count = alarms.count + 1,
       last_value = EXCLUDED.last_value,
       peak_value = GREATEST(alarms.peak_value, EXCLUDED.peak_value),
       last_reading_at = EXCLUDED.last_reading_at,
       updated_at = now()
     RETURNING ${alarmColumns}, (xmax = 0) AS inserted`,
    [
      a.source ?? a.deviceId,
      a.sourceKind ?? 'device',
      a.deviceId,
      a.ruleId,
      a.ruleVersion,
      a.facilityType,
      a.gridCode,
      a.severity,
      a.title,
      a.metric,
      JSON.stringify(a.threshold),
      JSON.stringify(a.value),
      peak,
      a.firstReadingMs,
      a.lastReadingMs,
      a.explain ? JSON.stringify(a.explain) : null,
    ],
  );
  const { inserted, ...alarm } = rows[0]!;
  return { alarm, opened: inserted };
}

export async function clearAlarm(
  db: Queryable,
  source: string,
  ruleId: string,
  value: Value,
  atMs: number,
): Promise<AlarmRecord | null> {
  const { rows } = await db.query<AlarmRecord>(
    `UPDATE alarms SET state = 'cleared', cleared_at = to_timestamp($4 / 1000.0), last_value = $3::jsonb,
       shelved_until = NULL, updated_at = now()
     WHERE source = $1 AND rule_id = $2 AND state = 'open'
     RETURNING ${alarmColumns}`,
    [source, ruleId, JSON.stringify(value), atMs],
  );
  return rows[0] ?? null;
}

/**
 * A multi-level rule crossed a level: the same alarm, another severity. A
 * rise (a more urgent severity) ends a shelving: the alarm worsened (#13).
 */
export async function changeAlarmSeverity(
  db: Queryable,
  id: number,
  c: { severity: Severity; threshold: Value; value: Value; atMs: number; detail?: string },
): Promise<AlarmRecord | null> {
  // explain.detail says why when the value alone does not (raised by rising, not by level).
  const { rows } = await db.query<AlarmRecord>(
    `UPDATE alarms SET severity = $2, threshold = $3::jsonb, last_value = $4::jsonb, count = count + 1,
       peak_value = GREATEST(peak_value, $5), last_reading_at = to_timestamp($6 / 1000.0), updated_at = now(),
       explain = CASE WHEN $7::text IS NULL THEN explain ELSE COALESCE(explain, '{}'::jsonb) || jsonb_build_object('detail', $7::text) END,
       shelved_until = CASE WHEN array_position($8::text[], $2) < array_position($8::text[], severity)
                            THEN NULL ELSE shelved_until END
     WHERE id = $1 AND state = 'open' RETURNING ${alarmColumns}`,
    [
      id,
      c.severity,
      JSON.stringify(c.threshold),
      JSON.stringify(c.value),
      typeof c.value === 'number' ? c.value : null,
      c.atMs,
      c.detail ?? null,
      severities,
    ],
  );
  return rows[0] ?? null;
}

export async function markAlarmFlapping(db: Queryable, id: number): Promise<AlarmRecord | null> {
  const { rows } = await db.query<AlarmRecord>(
    `UPDATE alarms SET flapping = true, updated_at = now() WHERE id = $1 AND state = 'open'
     RETURNING ${alarmColumns}`,
    [id],
  );
  return rows[0] ?? null;
}

export interface AlarmHold {
  readonly id: number;
  readonly count: number;
  readonly last: Value;
  readonly peak: number | null;
  readonly lastMs: number;
}

/** Readings that kept open alarms open, accumulated and written in one statement. */
export async function applyAlarmHolds(db: Queryable, holds: readonly AlarmHold[]): Promise<void> {
  if (holds.length === 0) return;
  await db.query(
    `UPDATE alarms a SET count = a.count + h.count, last_value = h.last,
       peak_value = GREATEST(a.peak_value, h.peak),
       last_reading_at = GREATEST(a.last_reading_at, to_timestamp(h."lastMs" / 1000.0)), updated_at = now()
     FROM jsonb_to_recordset($1::jsonb) AS h(id bigint, count int, last jsonb, peak float8, "lastMs" float8)
     WHERE a.id = h.id AND a.state = 'open'`,
    [JSON.stringify(holds)],
  );
}

/**
 * Acknowledges an alarm as `by` (the logged-in user) with a comment; the
 * first acknowledgement stands: `changed` is false when it was acknowledged.
 */
export async function acknowledgeAlarm(
  db: Queryable,
  id: number,
  by: string,
  comment: string | null = null,
): Promise<{ alarm: AlarmRecord | null; changed: boolean }> {
  const { rows } = await db.query<AlarmRecord>(
    `UPDATE alarms SET acknowledged_at = now(), acknowledged_by = $2, ack_comment = $3, updated_at = now()
     WHERE id = $1 AND acknowledged_at IS NULL RETURNING ${alarmColumns}`,
    [id, by, comment],
  );
  if (rows[0]) return { alarm: rows[0], changed: true };
  return { alarm: await getAlarm(db, id), changed: false };
}

/** Shelves an open alarm until `until`; null when it is not open (or unknown). */
export async function shelveAlarm(
  db: Queryable,
  id: number,
  s: { until: string; by: string; comment: string | null },
): Promise<AlarmRecord | null> {
  const { rows } = await db.query<AlarmRecord>(
    `UPDATE alarms SET shelved_until = $2, shelved_by = $3, shelve_comment = $4, updated_at = now()
     WHERE id = $1 AND state = 'open' RETURNING ${alarmColumns}`,
    [id, s.until, s.by, s.comment],
  );
  return rows[0] ?? null;
}

/** Ends a shelving; null when the alarm was not shelved. */
export async function unshelveAlarm(db: Queryable, id: number): Promise<AlarmRecord | null> {
  const { rows } = await db.query<AlarmRecord>(
    `UPDATE alarms SET shelved_until = NULL, updated_at = now()
     WHERE id = $1 AND shelved_until IS NOT NULL RETURNING ${alarmColumns}`,
    [id],
  );
  return rows[0] ?? null;
}

/** Open alarms whose shelving ran out by `at`, unshelved. */
export async function unshelveExpired(db: Queryable, at: string): Promise<AlarmRecord[]> {
  const { rows } = await db.query<AlarmRecord>(
    `UPDATE alarms SET shelved_until = NULL, updated_at = now()
     WHERE shelved_until IS NOT NULL AND shelved_until <= $1 RETURNING ${alarmColumns}`,
    [at],
  );
  return rows;
}

export async function getAlarm(db: Queryable, id: number): Promise<AlarmRecord | null> {
  const { rows } = await db.query<AlarmRecord>(`SELECT ${alarmColumns} FROM alarms WHERE id = $1`, [
    id,
  ]);
  return rows[0] ?? null;
}

/** Newest first; with `area`, only alarms inside it (as an area user's live feed). */
export async function listAlarms(
  db: Queryable,
  q: { state?: string; limit: number; area?: string | null },
): Promise<AlarmRecord[]> {
  const { rows } = await db.query<AlarmRecord>(
    `SELECT ${alarmColumns} FROM alarms
     WHERE ($1::text IS NULL OR state = $1) AND ($3::text IS NULL OR grid_code LIKE $3 || '%')
     ORDER BY id DESC LIMIT $2`,
    [q.state ?? null, q.limit, q.area ?? null],
  );
  return rows;
}

export async function listOpenAlarms(db: Queryable): Promise<AlarmRecord[]> {
  const { rows } = await db.query<AlarmRecord>(
    `SELECT ${alarmColumns} FROM alarms WHERE state = 'open' ORDER BY id`,
  );
  return rows;
}
