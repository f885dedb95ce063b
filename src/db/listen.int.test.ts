import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, type TestDatabase } from '../../test/support/databases.js';
import { waitFor } from '../../test/support/hub.js';
import { createListener, createPool, type Pool } from './index.js';

/** Cross-process notices (case feed, sessions, rules) ride on these LISTEN connections. */
describe.each(backends().filter((b) => b.name !== 'timescaledb'))(
  'a LISTEN connection on $name',
  (backend) => {
    let database: TestDatabase;
    let pool: Pool;
    beforeAll(async () => {
      database = await backend.create();
      pool = createPool(database.url, 3, pino({ level: 'silent' }));
    });
    afterAll(async () => {
      await pool?.end();
      await database?.drop();
    });

    // From a connection outside the pool, so the pool's own connections all go.
    async function killPoolConnections(): Promise<void> {
      const admin = new pg.Client({ connectionString: database.url });
      await admin.connect();
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      );
      await admin.end();
    }

    it('listens on every channel of the process over one connection', async () => {
      const got: string[] = [];
      const silent = pino({ level: 'silent' });
      const listeners = ['hub_test_a', 'hub_test_b'].map((ch) =>
        createListener(pool, ch, (p) => p && got.push(`${ch}:${p}`), { retryMs: 50 }, silent),
      );
      for (const l of listeners) await l.start();
      await pool.query(`SELECT pg_notify('hub_test_a', '1'), pg_notify('hub_test_b', '2')`);
      await waitFor(() => (got.length === 2 ? true : undefined), 'both notices');
      expect(got.sort()).toEqual(['hub_test_a:1', 'hub_test_b:2']);
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND query LIKE 'LISTEN %'`,
      );
      expect(rows[0]!.n).toBe(1);
      for (const l of listeners) await l.stop();
    });

    it('comes back after its connection is killed, and stops without handing a connection back twice', async () => {
      const got: (string | null)[] = [];
      const listener = createListener(
        pool,
        'hub_test_channel',
        (p) => got.push(p),
        { retryMs: 50 },
        pino({ level: 'silent' }),
      );
      await listener.start();
      await pool.query(`SELECT pg_notify('hub_test_channel', 'one')`);
      await waitFor(() => (got.includes('one') ? true : undefined), 'the first notice');

      await killPoolConnections();
      // After reconnecting it reports null (notices may have been missed), then hears again.
      await waitFor(
        () => (got.filter((p) => p === null).length >= 2 ? true : undefined),
        'the reconnect',
      );
      await pool.query(`SELECT pg_notify('hub_test_channel', 'two')`);
      await waitFor(() => (got.includes('two') ? true : undefined), 'a notice after reconnecting');

      await listener.stop();
      // The server ending connections after stop must not reach a released client.
      await killPoolConnections();
      await new Promise((r) => setTimeout(r, 200));
      expect(pool.totalCount).toBeLessThanOrEqual(3);
    });
  },
);
