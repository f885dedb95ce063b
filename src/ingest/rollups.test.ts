import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ReadingColumns } from '../db/index.js';
import { createRollupAccumulator } from './rollups.js';

const bucket = 300_000;
const batchAt = (...timesMs: number[]) => ({ timesMs }) as unknown as ReadingColumns;

/** The range persisted before a batch commits (what a crash rebuilds), issue #17. */
describe('the rollups’ pending range', () => {
  it('covers whole buckets, so live readings write the file once a bucket, not once a batch', () => {
    const written: ({ fromMs: number; toMs: number } | null)[] = [];
    // No flush happens in this test: the database is never reached.
    const rollups = createRollupAccumulator(
      {} as never,
      3_600_000,
      pino({ level: 'silent' }),
      (r) => written.push(r),
    );
    const start = Date.UTC(2026, 11, 2, 3, 0) + 1234;
    for (let i = 0; i < 40; i++) rollups.beforeCommit(batchAt(start + i * 25, start + i * 25 + 10));
    expect(written).toEqual([{ fromMs: start - 1234, toMs: start - 1234 + bucket - 1 }]);
    rollups.beforeCommit(batchAt(start + bucket));
    expect(written).toHaveLength(2);
    expect(written[1]).toEqual({ fromMs: start - 1234, toMs: start - 1234 + 2 * bucket - 1 });
    // A late reading from an earlier bucket widens it backwards.
    rollups.beforeCommit(batchAt(start - bucket));
    expect(written[2]?.fromMs).toBe(start - 1234 - bucket);
  });
});
