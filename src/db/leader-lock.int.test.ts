import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, type TestDatabase } from '../../test/support/databases.js';
import { waitFor } from '../../test/support/hub.js';
import { createLeaderLock, createPool, type Pool } from './index.js';

/** Group rules run on exactly one node: the holder of a PostgreSQL advisory lock (#6). */
describe.each(backends().filter((b) => b.name !== 'timescaledb'))(
  'the leader lock on $name',
  (backend) => {
    let database: TestDatabase;
    let pools: Pool[];
    beforeAll(async () => {
      database = await backend.create();
      const logger = pino({ level: 'silent' });
      // Two "nodes": two pools, as two hub processes would have.
      pools = [createPool(database.url, 2, logger), createPool(database.url, 2, logger)];
    });
    afterAll(async () => {
      for (const p of pools ?? []) await p.end();
      await database?.drop();
    });

    it('lets one of two holders win, and the other take over when the winner releases', async () => {
      const key = 6_000_001;
      const first = createLeaderLock(pools[0]!, key, { retryMs: 50 });
      const second = createLeaderLock(pools[1]!, key, { retryMs: 50 });
      const changes: string[] = [];
      first.onChange((l) => changes.push(`first ${l}`));
      second.onChange((l) => changes.push(`second ${l}`));
      try {
        expect(await first.tryAcquire()).toBe(true);
        expect(await second.tryAcquire()).toBe(false);
        expect([first.isLeader(), second.isLeader()]).toEqual([true, false]);

        await first.release();
        await waitFor(() => (second.isLeader() ? true : undefined), 'the second to take over');
        expect(first.isLeader()).toBe(false);
        // The first stops leading before its lock is free, so never two leaders at once.
        expect(changes).toEqual(['first true', 'first false', 'second true']);
      } finally {
        // Released whatever happened: a held client would hang the pool's end.
        await first.release();
        await second.release();
      }
    });
  },
);
