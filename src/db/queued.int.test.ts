import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrimaryDatabase, type TestDatabase } from '../../test/support/databases.js';
import { systemActor, type CaseDetail } from '../domain/index.js';
import { alarmTransaction } from './alarm-events.js';
import { caseTransaction } from './case-events.js';
import { createPool, migrate, type Pool } from './index.js';

/**
 * Timeline entries go with the COMMIT as escaped literals (issue #17,
 * decision 0214); a refused entry must still fail the transaction with its
 * own error and leave nothing committed.
 */
describe('queued statements in case and alarm transactions', () => {
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

  it('commits what succeeded and returns the changes in order', async () => {
    const { changes } = await caseTransaction(pool, async (tx) => {
      await tx.db.query('INSERT INTO queued_probe VALUES (5)');
    });
    expect(changes).toEqual([]);
    expect(await probes()).toEqual([{ n: 5 }]);
  });
});
