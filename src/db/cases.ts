import {
  alarmCategoryOf,
  caseCodeIdWidth,
  caseKindOf,
  type AlarmRecord,
  type CaseDetail,
  type CaseEffect,
  type CaseRecord,
} from '../domain/index.js';
import type { CaseDeadlines } from './case-deadlines.js';
import type { QueryResult } from 'pg';
import {
  caseDetailColumns,
  caseRowUpdate,
  deadlineParams,
  insertedCaseId,
} from './case-workflow.js';
import type { Queryable } from './pool.js';
import { inlineParameters } from './statement-literals.js';

const columns = `id, code, version, state, kind, severity, title, facility_type AS "facilityType",
  device_id AS "deviceId", grid_code AS "gridCode", alarm_id AS "alarmId", recovered_at AS "recoveredAt",
  created_at AS "createdAt", updated_at AS "updatedAt"`;

/**
 * Registers (立案) the case of an alarm, with its deadlines when it has any;
 * at most one case per alarm (null when it has one). The code is `codePrefix`
 * (domain `caseCodePrefix`: the city's local date) and the id. One statement,
 * returning the whole case: the alarm → case path counts round trips (#17).
 */
export async function registerCaseForAlarm(
  db: Queryable,
  alarm: AlarmRecord,
  codePrefix: string,
  deadlines: CaseDeadlines | null,
): Promise<CaseDetail | null> {
  const { text, params } = registration(alarm, codePrefix, deadlines);
  const { rows } = await db.query<CaseDetail>(text, params);
  return rows[0] ?? null;
}

/**
 * Registers the case of an alarm as registerCaseForAlarm does and applies
 * `then` (its automatic dispatch) to it in the same round trip, values written
 * in as literals: `then` must need nothing the insert returns (#17). Null when
 * the alarm has a case already.
 */
export async function registerCaseForAlarmThen(
  db: Queryable & { escapeLiteral(text: string): string },
  alarm: AlarmRecord,
  codePrefix: string,
  deadlines: CaseDeadlines | null,
  then: { at: string; effect: CaseEffect },
): Promise<{ created: CaseDetail; then: CaseDetail | null } | null> {
  const insert = registration(alarm, codePrefix, deadlines);
  const update = caseRowUpdate(insertedCaseId, 'registered', then.at, then.effect);
  const statements = [insert, update].map((s) => inlineParameters(db, s.text, s.params));
  if (statements.includes(null)) throw new Error('a registration value cannot be written in');
  const [inserted, updated] = (await db.query(statements.join(';\n'))) as unknown as [
    QueryResult<CaseDetail>,
    QueryResult<CaseDetail>,
  ];
  const created = inserted.rows[0];
  // Without a new row, currval is a number the insert drew and did not use: no row has it.
  return created ? { created, then: updated.rows[0] ?? null } : null;
}

function registration(alarm: AlarmRecord, codePrefix: string, deadlines: CaseDeadlines | null) {
  return {
    text: `WITH next AS (SELECT nextval(pg_get_serial_sequence('cases', 'id')) AS id)
     INSERT INTO cases AS c (id, code, state, kind, severity, title, facility_type, device_id,
                             grid_code, alarm_id, due_at, next_escalation_at, deadline_unit,
                             handle_minutes, dispatch_due_at, category_code)
     SELECT next.id,
            $8::text || lpad(next.id::text, ${caseCodeIdWidth}, '0'),
            'registered', $1, $2, $3, $4, $5, $6, $7,
            $9::timestamptz, $9::timestamptz, coalesce($10::text, 'calendar'), $11::int,
            $12::timestamptz, $13
     FROM next
     ON CONFLICT (alarm_id) DO NOTHING
     RETURNING ${caseDetailColumns}`,
    params: [
      caseKindOf(alarm.facilityType),
      alarm.severity,
      alarm.title,
      alarm.facilityType,
      alarm.deviceId,
      alarm.gridCode,
      alarm.id,
      codePrefix,
      ...deadlineParams(deadlines),
      alarmCategoryOf(alarm.facilityType, caseKindOf(alarm.facilityType)),
    ],
  };
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
