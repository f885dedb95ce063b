import type { AlarmRecord, FacilityType, Severity } from '../domain/index.js';
import type { Queryable } from './pool.js';

const columns = `id, device_id AS "deviceId", rule_id AS "ruleId", rule_version AS "ruleVersion",
  facility_type AS "facilityType", grid_code AS "gridCode", severity, state, title, metric, threshold,
  last_value AS "lastValue", peak_value AS "peakValue", count, first_reading_at AS "firstReadingAt",
  last_reading_at AS "lastReadingAt", opened_at AS "openedAt", cleared_at AS "clearedAt"`;

export interface AlarmOpening {
  readonly deviceId: string;
  readonly ruleId: string;
  readonly ruleVersion: number;
  readonly facilityType: FacilityType;
  readonly gridCode: string;
  readonly severity: Severity;
  readonly title: string;
  readonly metric: string;
  readonly threshold: number | boolean | string | null;
  readonly value: number | boolean | string | null;
  readonly firstReadingMs: number;
  readonly lastReadingMs: number;
}

/**
 * Opens an alarm, or, when one is already open for the same (device, rule),
 * updates that one: the partial unique index makes a duplicate impossible even
 * when two evaluators race.
 */
export async function openAlarm(
  db: Queryable,
  a: AlarmOpening,
): Promise<{ alarm: AlarmRecord; opened: boolean }> {
  const peak = typeof a.value === 'number' ? a.value : null;
  const { rows } = await db.query<AlarmRecord & { inserted: boolean }>(
    `INSERT INTO alarms (device_id, rule_id, rule_version, facility_type, grid_code, severity, state, title,
       metric, threshold, last_value, peak_value, first_reading_at, last_reading_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9::jsonb, $10::jsonb, $11,
       to_timestamp($12 / 1000.0), to_timestamp($13 / 1000.0))
     ON CONFLICT (device_id, rule_id) WHERE state = 'open' DO UPDATE SET
       count = alarms.count + 1,
       last_value = EXCLUDED.last_value,
       peak_value = GREATEST(alarms.peak_value, EXCLUDED.peak_value),
       last_reading_at = EXCLUDED.last_reading_at
     RETURNING ${columns}, (xmax = 0) AS inserted`,
    [
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
    ],
  );
  const { inserted, ...alarm } = rows[0]!;
  return { alarm, opened: inserted };
}

export async function clearAlarm(
  db: Queryable,
  deviceId: string,
  ruleId: string,
  value: number | boolean | string | null,
  atMs: number,
): Promise<AlarmRecord | null> {
  const { rows } = await db.query<AlarmRecord>(
    `UPDATE alarms SET state = 'cleared', cleared_at = to_timestamp($4 / 1000.0), last_value = $3::jsonb
     WHERE device_id = $1 AND rule_id = $2 AND state = 'open'
     RETURNING ${columns}`,
    [deviceId, ruleId, JSON.stringify(value), atMs],
  );
  return rows[0] ?? null;
}

export async function listAlarms(
  db: Queryable,
  q: { state?: string; limit: number },
): Promise<AlarmRecord[]> {
  const { rows } = await db.query<AlarmRecord>(
    `SELECT ${columns} FROM alarms WHERE ($1::text IS NULL OR state = $1) ORDER BY id DESC LIMIT $2`,
    [q.state ?? null, q.limit],
  );
  return rows;
}

export async function listOpenAlarmKeys(
  db: Queryable,
): Promise<{ deviceId: string; ruleId: string }[]> {
  const { rows } = await db.query<{ deviceId: string; ruleId: string }>(
    `SELECT device_id AS "deviceId", rule_id AS "ruleId" FROM alarms WHERE state = 'open'`,
  );
  return rows;
}
