import {
  areaAt,
  type Actor,
  type CaseChange,
  type CaseChangeReason,
  type CaseDetail,
  type CaseEffect,
  type CaseEvent,
  type CaseState,
} from '../domain/index.js';
import { updateCaseRow } from './case-workflow.js';
import type { Pool, Queryable } from './pool.js';
import { assertCommitted, sqlLiteral } from './statement-literals.js';

/**
 * Transaction advisory lock every case change takes before its versions, on
 * every node ("HUBc"): versions commit in order, so a feed that reads after a
 * cursor never skips one (decision 0110).
 */
export const caseVersionLockKey = 0x48_55_42_63;
/** The channel a committed case change notifies (in its transaction: sent at COMMIT). */
export const caseEventsChannel = 'hub_case_events';

export interface CaseEventRow {
  readonly version: number;
  readonly caseId: number;
  readonly at: string;
  readonly action: string;
  readonly reason: CaseChangeReason;
  readonly fromState: string | null;
  readonly toState: string;
  readonly actorId: number | null;
  readonly actorName: string | null;
  readonly note: string | null;
  readonly data: Record<string, unknown>;
  readonly crewId: string | null;
  readonly prevCrewId: string | null;
  readonly district: string | null;
  readonly snapshot: CaseDetail;
}

const eventColumns = `version, case_id, at, action, reason, from_state, to_state, actor_id,
  actor_name, note, data, crew_id, prev_crew_id, district, snapshot`;

/** The VALUES row of a timeline entry as literals, for the message with the COMMIT. */
function eventValues(client: { escapeLiteral(text: string): string }, e: CaseEventRow): string {
  return `(${[
    e.version,
    e.caseId,
    e.at,
    e.action,
    e.reason,
    e.fromState,
    e.toState,
    e.actorId,
    e.actorName,
    e.note,
    JSON.stringify(e.data),
    e.crewId,
    e.prevCrewId,
    e.district,
    JSON.stringify(e.snapshot),
  ]
    .map((v) => sqlLiteral(client, v))
    .join(', ')})`;
}

/** A timeline entry as the workflow describes it; the case row supplies the rest. */
export interface CaseEventInput {
  readonly action: string;
  readonly reason: CaseChangeReason;
  readonly from: CaseState | null;
  readonly actor: Actor;
  readonly note?: string | null;
  readonly data?: Record<string, unknown>;
  readonly prevCrewId?: string | null;
  readonly at: string;
}

/** What a case transaction offers the workflow, on its one connection. */
export interface CaseTransaction {
  /** The transaction's connection (escapeLiteral: for statements sent as one message). */
  readonly db: Queryable & { escapeLiteral(text: string): string };
  /** The transaction's timestamp (`now()`): what a `DEFAULT now()` column gets in it. */
  readonly now: string;
  /**
   * Stores the timeline entry of a change already applied to `c` (its version
   * is the event's). Written with the COMMIT: a failure fails the transaction.
   */
  record(c: CaseDetail, e: CaseEventInput): CaseChange;
  /**
   * Applies `effect` when the case is still in `current.state`, with the next
   * version, and records `e`; null when another change got there first.
   */
  transition(
    current: Pick<CaseDetail, 'id' | 'state'>,
    effect: CaseEffect,
    e: Omit<CaseEventInput, 'from'>,
  ): Promise<CaseChange | null>;
}

/**
 * Runs `fn` in a transaction under the case version lock; the changes it
 * records are notified to every node's case feed at COMMIT and returned after it.
 */
export async function caseTransaction<T>(
  pool: Pool,
  fn: (tx: CaseTransaction) => Promise<T>,
): Promise<{ result: T; changes: CaseChange[] }> {
  const client = await pool.connect();
  const changes: CaseChange[] = [];
  // Nothing in a case transaction reads the timeline back: its entries wait for the COMMIT.
  const entries: string[] = [];
  const record = (c: CaseDetail, e: CaseEventInput): CaseChange => {
    const values = eventValues(client, {
      version: c.version,
      caseId: c.id,
      at: e.at,
      action: e.action,
      reason: e.reason,
      fromState: e.from,
      toState: c.state,
      actorId: e.actor.id,
      actorName: e.actor.username,
      note: e.note ?? null,
      data: e.data ?? {},
      crewId: c.crewId,
      prevCrewId: e.prevCrewId ?? null,
      district: c.gridCode ? areaAt(c.gridCode, 'district') : null,
      snapshot: c,
    });
    entries.push(values);
    const change = {
      reason: e.reason,
      case: c,
      action: e.action,
      prevCrewId: e.prevCrewId ?? null,
    };
    changes.push(change);
    return change;
  };
  const tx = {
    db: client,
    now: '',
    record,
    async transition(current, effect, e) {
      const updated = await updateCaseRow(client, current.id, current.state, e.at, effect);
      return updated ? record(updated, { ...e, from: current.state }) : null;
    },
  } satisfies CaseTransaction;
  try {
    // Constants only, so each pair goes as one simple-protocol message: one round trip
    // each instead of two, on the alarm → case path (issue #17).
    const [, locked] = (await client.query(
      `BEGIN; SELECT pg_advisory_xact_lock(${caseVersionLockKey}), now() AS now`,
    )) as unknown as [unknown, { rows: { now: string }[] }];
    tx.now = locked.rows[0]?.now ?? new Date().toISOString();
    const result = await fn(tx);
    // The timeline entries, the notice to every node's case feed and the COMMIT in one
    // round trip (#17: the register and dispatch entries each took one of their own).
    assertCommitted(
      await client.query(
        entries.length > 0
          ? `INSERT INTO case_events (${eventColumns}) VALUES ${entries.join(', ')};
             SELECT pg_notify('${caseEventsChannel}', ''); COMMIT`
          : 'COMMIT',
      ),
    );
    return { result, changes };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

export async function caseTimeline(db: Queryable, caseId: number): Promise<CaseEvent[]> {
  const { rows } = await db.query<CaseEvent>(
    `SELECT version, case_id AS "caseId", at, action, from_state AS "fromState",
            to_state AS "toState", actor_name AS "actorName", note, data
     FROM case_events WHERE case_id = $1 ORDER BY version`,
    [caseId],
  );
  return rows;
}

/**
 * Events after `sinceVersion` a scope may see, oldest first: what a reconnecting
 * client missed. A crew also sees the event that took a case away from it.
 */
export async function caseEventsSince(
  db: Queryable,
  sinceVersion: number,
  scope: { crewId: string | null; area: string | null },
  limit = 5000,
  upToVersion = Number.MAX_SAFE_INTEGER,
): Promise<
  { version: number; reason: CaseEventRow['reason']; action: string; snapshot: CaseDetail }[]
> {
  const { rows } = await db.query(
    `SELECT version, reason, action, snapshot FROM case_events
     WHERE version > $1 AND version <= $5
       AND ($2::text IS NULL OR crew_id = $2 OR prev_crew_id = $2)
       AND ($3::text IS NULL OR district LIKE $3 || '%' OR $3 LIKE district || '%')
     ORDER BY version LIMIT $4`,
    [sinceVersion, scope.crewId, scope.area, limit, upToVersion],
  );
  return rows as {
    version: number;
    reason: CaseEventRow['reason'];
    action: string;
    snapshot: CaseDetail;
  }[];
}

/** Every event after `afterVersion`, oldest first: what a node's case feed sends on. */
export async function caseEventsAfter(
  db: Queryable,
  afterVersion: number,
  limit: number,
): Promise<
  {
    version: number;
    reason: CaseEventRow['reason'];
    action: string;
    prevCrewId: string | null;
    snapshot: CaseDetail;
  }[]
> {
  const { rows } = await db.query(
    `SELECT version, reason, action, prev_crew_id AS "prevCrewId", snapshot FROM case_events
     WHERE version > $1 ORDER BY version LIMIT $2`,
    [afterVersion, limit],
  );
  return rows as {
    version: number;
    reason: CaseEventRow['reason'];
    action: string;
    prevCrewId: string | null;
    snapshot: CaseDetail;
  }[];
}
