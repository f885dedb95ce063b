import type { PoolClient } from 'pg';
import type { Logger } from 'pino';
import type { Pool } from './pool.js';

/**
 * LISTEN on one channel on a connection of its own, reconnecting after
 * `retryMs` when the connection is lost. `onNotify` gets each payload; after
 * (re)connecting it is called with null, for what was sent while nobody
 * listened. The caller keeps a poll or a cursor for what a lost notification
 * would miss.
 */
export function createListener(
  pool: Pool,
  channel: string,
  onNotify: (payload: string | null) => void,
  options: { retryMs: number },
  logger: Logger,
) {
  let client: PoolClient | null = null;
  // A connection handed back (on stop, or after an error) must not be handed back
  // twice: a later error on it (the server shutting down) would throw in pg-pool.
  const released = new WeakSet<PoolClient>();
  function release(c: PoolClient, err?: Error | boolean): void {
    if (released.has(c)) return;
    released.add(c);
    c.release(err);
  }
  let retry: NodeJS.Timeout | null = null;
  let stopped = false;

  function scheduleRetry(): void {
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = null;
      void listen();
    }, options.retryMs);
    retry.unref();
  }

  async function listen(): Promise<void> {
    if (stopped || client) return;
    let c: PoolClient | null = null;
    try {
      c = await pool.connect();
      const conn = c;
      conn.on('notification', (n) => {
        if (n.channel === channel) onNotify(n.payload ?? null);
      });
      conn.once('error', (err) => {
        if (released.has(conn)) return;
        logger.warn({ err, channel }, 'LISTEN connection lost; retrying');
        if (client === conn) client = null;
        release(conn, err);
        scheduleRetry();
      });
      await conn.query(`LISTEN ${channel}`);
      client = conn;
      onNotify(null);
    } catch (err) {
      logger.warn({ err, channel }, 'cannot LISTEN; retrying');
      if (c) release(c, err instanceof Error ? err : new Error(String(err)));
      scheduleRetry();
    }
  }

  return {
    start: listen,
    async stop(): Promise<void> {
      stopped = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = null;
      if (c) {
        await c.query(`UNLISTEN ${channel}`).catch(() => {});
        // Closed, not pooled: its listeners go with it.
        release(c, true);
      }
    },
  };
}
