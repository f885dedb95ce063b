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
    try {
      const c = await pool.connect();
      c.on('notification', (n) => {
        if (n.channel === channel) onNotify(n.payload ?? null);
      });
      c.once('error', (err) => {
        logger.warn({ err, channel }, 'LISTEN connection lost; retrying');
        if (client === c) client = null;
        c.release(err);
        scheduleRetry();
      });
      await c.query(`LISTEN ${channel}`);
      client = c;
      onNotify(null);
    } catch (err) {
      logger.warn({ err, channel }, 'cannot LISTEN; retrying');
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
        c.release();
      }
    },
  };
}
