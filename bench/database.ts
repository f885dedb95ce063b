import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The benches' database: BENCH_DATABASE_URL, else a fresh database on the
 * machine's server at 127.0.0.1:5432 if it answers (dropped by `drop`), else
 * '' for the embedded PostgreSQL.
 */
export async function benchDatabase(
  prefix: string,
): Promise<{ url: string; drop: () => Promise<void>; label: string }> {
  if (process.env.BENCH_DATABASE_URL)
    return {
      url: process.env.BENCH_DATABASE_URL,
      drop: async () => {},
      label: 'BENCH_DATABASE_URL',
    };
  const admin = 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const c = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query(`CREATE DATABASE ${name}`);
    await c.end();
    return {
      url: `postgres://postgres@127.0.0.1:5432/${name}`,
      label: 'machine PostgreSQL server',
      drop: async () => {
        const d = new pg.Client({ connectionString: admin });
        await d.connect();
        await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await d.end();
      },
    };
  } catch {
    return { url: '', drop: async () => {}, label: 'embedded PostgreSQL' };
  }
}
