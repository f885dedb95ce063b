import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrimaryDatabase, type TestDatabase } from '../../test/support/databases.js';
import { systemActor, type CaseDetail } from '../domain/index.js';
import { alarmTransaction } from './alarm-events.js';
import { caseTransaction } from './case-events.js';
import { createPool, migrate, openAlarm, registerCaseForAlarmThen, type Pool } from './index.js';
import { inlineParameters } from './statement-literals.js';

/**
 * Timeline entries go with the COMMIT as escaped literals (issue #17,
 * decision 0214); a refused entry must still fail the transaction with its
 * own error and leave nothing committed.
 */
describe('statements sent as one message in case and alarm transactions', () => {
  let database: TestDatabase;
  let pool: Pool;
  const logger = pino({ level: 'silent' });
  beforeAll(async () => {
    database = await createPrimaryDatabase();
    pool = createPool(database.url, 4, logger);
    await migrate(pool, logger);
    await pool.query('CREATE TABLE queued_probe (n int)');
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  const noSuchCase = { id: 999_999_999, version: 1, state: 'registered' } as CaseDetail;
  const entry = {
    action: 'register',
    reason: 'created',
    from: null,
    actor: systemActor,
    at: new Date().toISOString(),
  } as const;
  const probes = async () => (await pool.query('SELECT n FROM queued_probe')).rows;

  it('throws the refused entry’s error, not the aborted statement after it, and commits nothing', async () => {
    const failure = caseTransaction(pool, async (tx) => {
      await tx.db.query('INSERT INTO queued_probe VALUES (1)');
      tx.record(noSuchCase, entry); // no such case: a foreign-key violation, queued
      await tx.db.query('INSERT INTO queued_probe VALUES (2)'); // runs in the aborted transaction
    });
    await expect(failure).rejects.toMatchObject({ code: '23503' });
    expect(await probes()).toEqual([]);
  });

  it('fails at the end when the last statement of the transaction was a refused entry', async () => {
    const failure = caseTransaction(pool, async (tx) => {
      await tx.db.query('INSERT INTO queued_probe VALUES (3)');
      tx.record(noSuchCase, entry);
    });
    await expect(failure).rejects.toMatchObject({ code: '23503' });
    expect(await probes()).toEqual([]);
  });

  it('fails an alarm transaction whose queued change cannot be stored, committing nothing', async () => {
    const failure = alarmTransaction(pool, async (db, record) => {
      await db.query('INSERT INTO queued_probe VALUES (4)');
      // A NUL in text is refused: the change sent with the COMMIT fails, and with it the transaction.
      record('acknowledged', { id: 1, gridCode: null } as never, { by: '\u0000' });
    });
    await expect(failure).rejects.toBeDefined();
    expect(await probes()).toEqual([]);
  });

  // Quotes, backslashes, a parameter's own name, SQL, NUL-free control and CJK text.
  const hostile = [`it's \\ $1 $2 '); DROP TABLE cases; --`, "E'\\x41' 井盖 \u0007 😀", '$$ $q$'];

  it('writes values in as literals that come back verbatim, a value naming a parameter too', async () => {
    const client = await pool.connect();
    try {
      const sql = inlineParameters(
        client,
        'SELECT $1::text AS a, $2::text AS b, $3 AS c, $4::int AS n, $5::bool AS t, $6::text AS z',
        [...hostile, 42, true, null],
      );
      expect(sql).not.toBeNull();
      const { rows } = await client.query(sql!);
      expect(rows[0]).toEqual({
        a: hostile[0],
        b: hostile[1],
        c: hostile[2],
        n: 42,
        t: true,
        z: null,
      });
    } finally {
      client.release();
    }
    expect(inlineParameters({ escapeLiteral: String }, 'SELECT $1', [[1, 2]])).toBeNull();
    expect(inlineParameters({ escapeLiteral: String }, 'SELECT $2', ['only one'])).toBeNull();
  });

  it('answers nasty values written in as it answers them as parameters: the same row or the same error', async () => {
    const nasty: [string, unknown][] = [
      ['$1::text', 'nul \u0000 inside'],
      ['$1::text', 'lone \ud800 surrogate'],
      ['$1::text', 'control \u0001\u001b\u007f'],
      ['$1::text', '%2e%2e%2f%00 percent-encoded'],
      ['$1::bigint', 2 ** 70],
      ['$1::bigint', '99999999999999999999'],
      ['jsonb_array_length($1::jsonb)', '['.repeat(5000) + ']'.repeat(5000)],
      ['$1::float8', Number.NaN],
    ];
    const client = await pool.connect();
    const outcome = (p: Promise<{ rows: unknown[] }>) =>
      p.then(
        (r) => ({ row: r.rows[0] }),
        (err: { code?: string }) => ({ error: err.code ?? String(err) }),
      );
    try {
      for (const [expr, value] of nasty) {
        const text = `SELECT ${expr} AS v`;
        const asParameter = await outcome(client.query(text, [value]));
        // Written in (or refused before anything is sent), then sent as one message.
        const asLiteral = await outcome(
          Promise.resolve().then(
            () => client.query(inlineParameters(client, text, [value])!) as never,
          ),
        );
        expect({ expr, value: String(value).slice(0, 40), ...asLiteral }).toEqual({
          expr,
          value: String(value).slice(0, 40),
          ...asParameter,
        });
      }
    } finally {
      client.release();
    }
  });

  it('sends an alarm transaction’s first statement with its BEGIN, under the lock, values intact', async () => {
    const { result } = await alarmTransaction(pool, async (db) => {
      await db.query('INSERT INTO queued_probe VALUES ($1)', [6]);
      const held = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`,
      );
      // Not inlinable (an array): the extended protocol, inside the same transaction.
      const echoed = await db.query<{ v: string[] }>('SELECT $1::text[] AS v', [hostile]);
      return { held: held.rows[0]!.n, echoed: echoed.rows[0]!.v };
    });
    expect(result).toEqual({ held: 1, echoed: hostile });
    await expect(
      alarmTransaction(pool, async (db) => {
        await db.query('INSERT INTO queued_probe VALUES ($1)', [7]);
        throw new Error('given up after the first statement');
      }),
    ).rejects.toThrow('given up');
    await expect(
      alarmTransaction(pool, async (db) => {
        await db.query('SELECT $1::int[]', [[1]]); // the first statement is not inlinable
        await db.query('INSERT INTO queued_probe VALUES (8)');
        throw new Error('given up');
      }),
    ).rejects.toThrow('given up');
    // A value the server refuses (a NUL) fails the first message, and nothing commits.
    await expect(
      alarmTransaction(pool, async (db) => {
        await db.query('INSERT INTO queued_probe SELECT length($1::text)', ['a\u0000b']);
      }),
    ).rejects.toBeDefined();
    expect(await probes()).toEqual([{ n: 6 }]);
    await pool.query('DELETE FROM queued_probe');
  });

  it('registers an alarm’s case and its dispatch in one message, and neither for an alarm that has a case', async () => {
    await pool.query(
      `INSERT INTO rules (id, facility_type, kind, severity, title, description, source, settings)
       VALUES ('probe.lifted', 'manhole', 'threshold', 'major', 'probe', 'probe', 'test', '{}');
       INSERT INTO areas (code, level, name) VALUES ('430302001001', 'grid', 'probe grid')`,
    );
    const { alarm } = await openAlarm(pool, {
      deviceId: null,
      ruleId: 'probe.lifted',
      ruleVersion: 1,
      facilityType: 'manhole',
      gridCode: '430302001001',
      severity: 'major',
      title: hostile[0]!,
      metric: 'lifted',
      threshold: null,
      value: true,
      firstReadingMs: Date.now(),
      lastReadingMs: Date.now(),
      source: 'probe-device',
    });
    const register = () =>
      caseTransaction(pool, async (tx) =>
        registerCaseForAlarmThen(tx.db, alarm, 'P', null, {
          at: tx.now,
          effect: { set: { state: 'dispatched', dispatchedAt: tx.now } },
        }),
      );
    const first = (await register()).result;
    expect(first?.created).toMatchObject({
      state: 'registered',
      title: hostile[0],
      alarmId: alarm.id,
    });
    expect(first?.then).toMatchObject({ id: first?.created.id, state: 'dispatched' });
    expect(first!.then!.version).toBeGreaterThan(first!.created.version);
    expect((await register()).result).toBeNull();
    const { rows } = await pool.query('SELECT state FROM cases WHERE alarm_id = $1', [alarm.id]);
    expect(rows).toEqual([{ state: 'dispatched' }]);
  });

  it('commits what succeeded and returns the changes in order', async () => {
    const { changes } = await caseTransaction(pool, async (tx) => {
      await tx.db.query('INSERT INTO queued_probe VALUES (5)');
    });
    expect(changes).toEqual([]);
    expect(await probes()).toEqual([{ n: 5 }]);
  });
});
