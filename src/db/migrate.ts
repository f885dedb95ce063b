import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import type { Logger } from 'pino';
import type { Pool } from './pool.js';

const migrationsDir = fileURLToPath(new URL('./migrations', import.meta.url));

/**
 * Applies pending migrations (docs/decisions/0002-migrations.md): each in its
 * own transaction, under an advisory lock, so two hub processes starting at
 * once, or one starting twice, apply each migration exactly once.
 */
export async function migrate(pool: Pool, logger: Logger): Promise<string[]> {
  const client = await pool.connect();
  let failed = false;
  try {
    const applied = await runner({
      dbClient: client,
      dir: migrationsDir,
      direction: 'up',
      migrationsTable: 'schema_migrations',
      checkOrder: true,
      // Processes of a cluster start together: the others wait for the first, then find nothing to do.
      advisoryLockMode: 'wait',
      logger: {
        debug: () => {},
        info: (msg: string) => logger.debug(msg),
        warn: (msg: string) => logger.warn(msg),
        error: (msg: string) => logger.error(msg),
      },
    });
    const names = applied.map((m) => m.name);
    if (names.length > 0) logger.info({ migrations: names }, 'migrations applied');
    return names;
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    // A failed migration can leave the connection inside an aborted transaction: drop it.
    client.release(failed);
  }
}
