import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, type TestDatabase } from '../../test/support/databases.js';
import { createPool, migrate, type Pool, type Queryable } from '../db/index.js';
import type { CommittedBatch } from './batch-writer.js';
import { createRollupAccumulator } from './rollups.js';

const logger = pino({ level: 'silent' });
const bucketMs = 300_000;

/**
 * The rollups' accumulator against a real database: what several batches
 * contribute to one (device, metric, bucket) is written as one row, and a
 * flush the database refuses keeps its contributions for the next one,
 * merged with what came in meanwhile.
 */
describe.each(backends())('the rollups accumulator on $name', (backend) => {
  let database: TestDatabase;
  let pool: Pool;
  beforeAll(async () => {
    database = await backend.create();
    pool = createPool(database.url, 2, logger);
    await migrate(pool, logger);
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  const batch = (rows: [string, number, Record<string, number | boolean>][]) =>
    ({
      deviceIds: rows.map((r) => r[0]),
      timesMs: rows.map((r) => r[1]),
      data: rows.map((r) => JSON.stringify(r[2])),
      metrics: rows.map((r) => r[2]),
    }) as unknown as CommittedBatch;

  it('sums several batches per device, metric and bucket, and keeps a refused flush for the next', async () => {
    // The database refuses the first flush's statement (a fault in front of a real one).
    let refuse = true;
    const db: Queryable = {
      query: ((...args: Parameters<Pool['query']>) => {
        if (refuse) {
          refuse = false;
          return Promise.reject(new Error('connection lost'));
        }
        return (pool.query as (...a: unknown[]) => unknown)(...args);
      }) as Pool['query'],
    };
    const rollups = createRollupAccumulator(db, 3_600_000, logger);
    const t0 = Math.floor(Date.UTC(2026, 11, 2, 8, 0) / bucketMs) * bucketMs;
    rollups.add(
      batch([
        ['WL-1', t0 + 1000, { water_cm: 4, online: true }],
        ['WL-2', t0 + 2000, { water_cm: 30 }],
        ['WL-1', t0 + bucketMs + 10, { water_cm: 9 }],
      ]),
      null,
    );
    await rollups.flush();
    expect(rollups.counters.rollupFlushErrors).toBe(1);
    // Meanwhile: one reading not inserted (a duplicate), one that adds to a kept bucket.
    rollups.add(
      batch([
        ['WL-1', t0 + 3000, { water_cm: 100 }],
        ['WL-1', t0 + 4000, { water_cm: 2 }],
      ]),
      [false, true],
    );
    await rollups.flush();
    expect(rollups.counters.rollupFlushes).toBe(1);

    const { rows } = await pool.query<{ row: string }>(
      `SELECT concat_ws(' ', device_id, metric, extract(epoch FROM bucket)::bigint * 1000 - $1::bigint,
                        n, sum, min, max) AS row
       FROM telemetry_5m ORDER BY device_id, metric, bucket`,
      [t0],
    );
    expect(rows.map((r) => r.row)).toEqual([
      'WL-1 online 0 1 1 1 1',
      'WL-1 water_cm 0 2 6 2 4',
      `WL-1 water_cm ${bucketMs} 1 9 9 9`,
      'WL-2 water_cm 0 1 30 30 30',
    ]);
    expect(await rollups.stop()).toBe(true);
  });
});
