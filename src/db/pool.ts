import pg from 'pg';
import type { Logger } from 'pino';

export type Pool = pg.Pool;
export type Queryable = Pick<pg.Pool, 'query'>;

// Ids and counters are bigint in SQL but stay far below 2^53; timestamps go
// out of the API as ISO 8601 strings, so parse them that way once, here.
const typeParsers: Record<number, (value: string) => unknown> = {
  20: Number,
  1184: (v) => new Date(v).toISOString(),
};
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    typeParsers[oid] ??
    pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export function createPool(connectionString: string, max: number, logger: Logger): Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    types,
    application_name: 'urban-facility-hub',
  });
  // An idle client losing its server must not crash the hub; the next query reconnects.
  pool.on('error', (err) => logger.warn({ err }, 'idle database connection lost'));
  return pool;
}
