import {
  severities,
  type AlarmChange,
  type AlarmChangeKind,
  type AlarmRecord,
} from '../domain/index.js';
import { alarmColumns } from './alarms.js';
import type { QueryResult } from 'pg';
import type { Pool, Queryable } from './pool.js';
import { assertCommitted, inlineParameters, sqlLiteral } from './statement-literals.js';

/**
 * Transaction advisory lock every alarm change with a version takes first,
 * on every node ("HUBa"): versions commit in order, so a feed that reads after
 * a cursor never skips one (decisions 0105, 0160).
 */
export const alarmVersionLockKey = 0x48_55_42_61;
/** The channel a committed alarm change notifies (sent at COMMIT). */
export const alarmEventsChannel = 'hub_alarm_events';

/**
 * Stores one change of an alarm with the next version, with the COMMIT: the
 * transaction returns the change after it, and a failure of the insert fails
 * the transaction.
 */
export type AlarmRecorder = (
  change: AlarmChangeKind,
  alarm: AlarmRecord,
  e?: { by?: string | null; comment?: string | null },
) => void;

/**
 * Runs `fn` in a transaction under the alarm version lock; the changes it
 * records are stored in `alarm_events`, notified and returned after COMMIT.
 */
export async function alarmTransaction<T>(
  pool: Pool,
  fn: (db: Queryable, record: AlarmRecorder) => Promise<T>,
): Promise<{ result: T; changes: AlarmChange[] }> {
  const client = await pool.connect();
  const changes: AlarmChange[] = [];
  const lit = (v: string | number | null) => sqlLiteral(client, v);
  // Written with the COMMIT, in its one simple-protocol message (no parameters there):
  // the alarm path saves a round trip per change (#17). Nothing in `fn` reads them back.
  const recorded: {
    sql: string;
    change: AlarmChangeKind;
    alarm: AlarmRecord;
    by: string | null;
    comment: string | null;
  }[] = [];
  const record: AlarmRecorder = (change, alarm, e = {}) => {
    const by = e.by ?? null;
    const comment = e.comment ?? null;
    // The version, the alarm's own copy of it, and the event.
    const sql = `WITH v AS (SELECT nextval('alarm_version_seq') AS version),
        upd AS (UPDATE alarms a SET version = v.version FROM v WHERE a.id = ${lit(alarm.id)}::bigint
                RETURNING a.version)
      INSERT INTO alarm_events (version, alarm_id, change, by_name, comment, area_code, snapshot)
      SELECT upd.version, ${lit(alarm.id)}::bigint, ${lit(change)}::text, ${lit(by)}::text,
             ${lit(comment)}::text, ${lit(alarm.gridCode)}::text,
             jsonb_set(${lit(JSON.stringify(alarm))}::jsonb, '{version}', to_jsonb(upd.version))
      FROM upd RETURNING version, at`;
    recorded.push({ sql, change, alarm, by, comment });
  };
  // The BEGIN and the lock travel with fn's first statement, its values written in:
  // one round trip for both (#17). A statement that cannot be inlined goes after them.
  const begin = `BEGIN; SELECT pg_advisory_xact_lock(${alarmVersionLockKey})`;
  let begun = false;
  const db = {
    async query(text: string, values?: unknown[]) {
      if (begun) return client.query(text, values);
      const inlined = inlineParameters(client, text, values); // throws before anything is sent
      begun = true;
      if (inlined === null) {
        await client.query(begin);
        return client.query(text, values);
      }
      const answers = (await client.query(`${begin}; ${inlined}`)) as unknown as QueryResult[];
      return answers[answers.length - 1]!;
    },
  } as unknown as Queryable;
  try {
    const result = await fn(db, record);
    if (!begun && recorded.length === 0) return { result, changes };
    const prefix = begun ? '' : `${begin};\n`;
    begun = true;
    // Recorded changes notify every node's alarm feed at COMMIT.
    const answers = await client.query(
      `${prefix}${recorded.map((r) => `${r.sql};\n`).join('')}${
        recorded.length > 0 ? `SELECT pg_notify('${alarmEventsChannel}', '');\n` : ''
      }COMMIT`,
    );
    assertCommitted(answers);
    const results = (Array.isArray(answers) ? answers : [answers]).slice(prefix ? 2 : 0);
    recorded.forEach((r, i) => {
      const row = results[i]?.rows[0] as { version: number; at: string } | undefined;
      if (!row) throw new Error(`alarm ${r.alarm.id}: its ${r.change} was not stored`);
      changes.push({
        version: row.version,
        change: r.change,
        alarm: { ...r.alarm, version: row.version },
        by: r.by,
        comment: r.comment,
        at: row.at,
      });
    });
    return { result, changes };
  } catch (err) {
    if (begun) await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

interface EventRow {
  version: number;
  change: AlarmChangeKind;
  by: string | null;
  comment: string | null;
  at: string;
  snapshot: AlarmRecord;
}
const toChange = (r: EventRow): AlarmChange => ({
  version: r.version,
  change: r.change,
  alarm: r.snapshot,
  by: r.by,
  comment: r.comment,
  at: r.at,
});
const eventColumns = `version, change, by_name AS "by", comment, at, snapshot`;

/** Every alarm change after `afterVersion`, oldest first: what a node's alarm feed sends on. */
export async function alarmEventsAfter(
  db: Queryable,
  afterVersion: number,
  limit: number,
): Promise<AlarmChange[]> {
  const { rows } = await db.query<EventRow>(
    `SELECT ${eventColumns} FROM alarm_events WHERE version > $1 ORDER BY version LIMIT $2`,
    [afterVersion, limit],
  );
  return rows.map(toChange);
}

/**
 * Changes after `sinceVersion` up to `upToVersion` of alarms in `area` (a code
 * prefix; null: the city), oldest first: what a reconnecting client missed.
 */
export async function alarmEventsSince(
  db: Queryable,
  sinceVersion: number,
  area: string | null,
  limit: number,
  upToVersion: number,
): Promise<AlarmChange[]> {
  const { rows } = await db.query<EventRow>(
    `SELECT ${eventColumns} FROM alarm_events
     WHERE version > $1 AND version <= $2 AND ($3::text IS NULL OR area_code LIKE $3 || '%')
     ORDER BY version LIMIT $4`,
    [sinceVersion, upToVersion, area, limit],
  );
  return rows.map(toChange);
}

export async function newestAlarmVersion(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ v: number }>(
    `SELECT coalesce(max(version), 0)::bigint AS v FROM alarm_events`,
  );
  return rows[0]!.v;
}

/** Open alarms in `area` (a code prefix; null: the city), worst first, then newest. */
export async function openAlarmsIn(db: Queryable, area: string | null): Promise<AlarmRecord[]> {
  const { rows } = await db.query<AlarmRecord>(
    `SELECT ${alarmColumns} FROM alarms
     WHERE state = 'open' AND ($1::text IS NULL OR grid_code LIKE $1 || '%')
     ORDER BY array_position($2::text[], severity), opened_at DESC, id DESC`,
    [area, severities],
  );
  return rows;
}

/** Alarm changes older than `before` go (the leader's maintenance): a client that old gets a snapshot. */
export async function pruneAlarmEvents(db: Queryable, before: string): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM alarm_events WHERE at < $1`, [before]);
  return rowCount ?? 0;
}

/** The oldest version still stored (0 when none): a resume from before it needs a snapshot. */
export async function oldestAlarmVersion(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ v: number }>(
    `SELECT coalesce(min(version), 0)::bigint AS v FROM alarm_events`,
  );
  return rows[0]!.v;
}
