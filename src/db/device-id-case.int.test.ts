import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, type TestDatabase } from '../../test/support/databases.js';
import { createPool, migrate, type Pool } from './index.js';

const logger = pino({ level: 'silent' });
const migration = '1732800001300_device-id-case-insensitive';
const migrationsDir = fileURLToPath(new URL('./migrations', import.meta.url));
/** Migrations added after this one: rolled back first, so the database is as it was before it. */
const later = readdirSync(migrationsDir)
  .map((f) => f.replace(/\.sql$/, ''))
  .filter((name) => name > migration)
  .sort();

/** Device ids unique ignoring case (issue #11, decision 0132), upgrading a database that has duplicates. */
describe('the device id case migration', () => {
  let database: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    database = await backends()[0]!.create();
    pool = createPool(database.url, 2, logger);
    await migrate(pool, logger);
    if (later.length > 0) {
      const client = await pool.connect();
      await runner({
        dbClient: client,
        dir: migrationsDir,
        direction: 'down',
        count: later.length,
        migrationsTable: 'schema_migrations',
        log: () => {},
      }).finally(() => client.release());
    }
    // As before the migration: no index, two ids that differ only in case.
    await pool.query(`DROP INDEX devices_id_lower_key`);
    await pool.query(`DELETE FROM schema_migrations WHERE name = $1`, [migration]);
    await pool.query(
      `INSERT INTO areas (code, level, name) VALUES ('430302001001001', 'grid', 'g')`,
    );
    await pool.query(
      `INSERT INTO devices (id, type, name, grid_code, secret_hash) VALUES
         ('FX-001', 'gas', 'a', '430302001001001', 'x'),
         ('fx-001', 'gas', 'b', '430302001001001', 'x'),
         ('GS-1', 'gas', 'c', '430302001001001', 'x')`,
    );
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  it('stops and names the duplicates, touching no row, then applies once they are resolved', async () => {
    await expect(migrate(pool, logger)).rejects.toThrow(
      /device ids that differ only in case: FX-001, fx-001/,
    );
    const { rows } = await pool.query(`SELECT id FROM devices ORDER BY id`);
    expect(rows.map((r: { id: string }) => r.id)).toEqual(['FX-001', 'GS-1', 'fx-001']);

    await pool.query(`DELETE FROM devices WHERE id = 'fx-001'`);
    expect(await migrate(pool, logger)).toEqual([migration, ...later]);
    await expect(
      pool.query(
        `INSERT INTO devices (id, type, name, grid_code, secret_hash)
         VALUES ('gs-1', 'gas', 'd', '430302001001001', 'x')`,
      ),
    ).rejects.toMatchObject({ code: '23505' });
  });
});
