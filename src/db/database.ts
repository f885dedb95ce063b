import type { Logger } from 'pino';
import { HubError } from '../domain/index.js';
import { detectCapabilities, type DatabaseCapabilities } from './capabilities.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded.js';
import { migrate } from './migrate.js';
import { createPool, type Pool } from './pool.js';

export interface Database {
  readonly pool: Pool;
  readonly capabilities: DatabaseCapabilities;
  /** True when the hub started its own embedded PostgreSQL. */
  readonly embedded: boolean;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Empty: start the embedded default under dataDir. */
  readonly url: string;
  readonly poolMax: number;
  readonly dataDir: string;
  readonly embeddedPort: number;
  readonly logger: Logger;
  /** The embedded server in its own process group (`npm start`: Ctrl-C reaches the hub only). */
  readonly embeddedDetached?: boolean;
}

/** Connects (starting the embedded server when no URL is given), migrates, detects capabilities. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const { logger } = options;
  let embedded: EmbeddedDatabase | null = null;
  let url = options.url;
  if (!url) {
    embedded = await startEmbeddedPostgres({
      dataDir: options.dataDir,
      port: options.embeddedPort,
      logger,
      detached: options.embeddedDetached,
    });
    url = embedded.url;
  }
  const pool = createPool(url, options.poolMax, logger);
  try {
    await pool.query('SELECT 1').catch((err: unknown) => {
      throw new HubError('HUB_ERR_DB_UNAVAILABLE', redact(url), { cause: err });
    });
    await migrate(pool, logger);
    const capabilities = await detectCapabilities(pool);
    logger.info(capabilities, 'database ready');
    return {
      pool,
      capabilities,
      embedded: embedded !== null,
      async close() {
        await pool.end();
        await embedded?.stop();
      },
    };
  } catch (err) {
    await pool.end().catch(() => {});
    await embedded?.stop().catch(() => {});
    throw err;
  }
}

/** A connection string for logs and errors, without its password. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}
