import type { PoolClient } from 'pg';
import type { Logger } from 'pino';
import type { Pool } from './pool.js';

interface Subscription {
  readonly channel: string;
  readonly onNotify: (payload: string | null) => void;
  readonly retryMs: number;
  readonly logger: Logger;
}

/**
 * One LISTEN connection per pool for every channel of the process (case feed,
 * session ends, rule changes, replays): each channel on a connection of its
 * own took up to four of a pool's ten connections away from the requests.
 */
function createSharedConnection(pool: Pool) {
  const subs = new Set<Subscription>();
  let client: PoolClient | null = null;
  let connecting: Promise<void> | null = null;
  let retry: NodeJS.Timeout | null = null;
  // A connection handed back must not be handed back twice: a later error on it
  // (the server shutting down) would throw in pg-pool.
  const released = new WeakSet<PoolClient>();

  function release(c: PoolClient, err?: Error | boolean): void {
    if (released.has(c)) return;
    released.add(c);
    c.release(err);
  }
  const channels = () => new Set([...subs].map((s) => s.channel));
  const anyLogger = () => [...subs][0]?.logger;

  function scheduleRetry(): void {
    if (retry || subs.size === 0) return;
    const retryMs = Math.min(...[...subs].map((s) => s.retryMs));
    retry = setTimeout(() => {
      retry = null;
      void ensure();
    }, retryMs);
    retry.unref();
  }

  async function connect(): Promise<void> {
    let c: PoolClient | null = null;
    try {
      c = await pool.connect();
      const conn = c;
      conn.on('notification', (n) => {
        for (const s of subs) if (s.channel === n.channel) s.onNotify(n.payload ?? null);
      });
      conn.once('error', (err) => {
        if (released.has(conn)) return;
        anyLogger()?.warn({ err }, 'LISTEN connection lost; retrying');
        if (client === conn) client = null;
        release(conn, err);
        scheduleRetry();
      });
      for (const ch of channels()) await conn.query(`LISTEN ${ch}`);
      if (subs.size === 0) {
        release(conn, true);
        return;
      }
      client = conn;
      // What was sent while nobody listened: each subscriber reads for itself.
      for (const s of subs) s.onNotify(null);
    } catch (err) {
      anyLogger()?.warn({ err }, 'cannot LISTEN; retrying');
      if (c) release(c, err instanceof Error ? err : new Error(String(err)));
      scheduleRetry();
    }
  }

  function ensure(): Promise<void> {
    if (client || subs.size === 0) return Promise.resolve();
    connecting ??= connect().finally(() => (connecting = null));
    return connecting;
  }

  return {
    async add(sub: Subscription): Promise<void> {
      const listened = channels().has(sub.channel);
      subs.add(sub);
      if (connecting) await connecting;
      if (!client) return ensure();
      try {
        if (!listened) await client.query(`LISTEN ${sub.channel}`);
        sub.onNotify(null);
      } catch (err) {
        sub.logger.warn({ err, channel: sub.channel }, 'cannot LISTEN; retrying');
      }
    },
    async remove(sub: Subscription): Promise<void> {
      if (!subs.delete(sub)) return;
      const c = client;
      if (!c) return;
      if (subs.size === 0) {
        if (retry) clearTimeout(retry);
        retry = null;
        client = null;
        await c.query('UNLISTEN *').catch(() => {});
        // Closed, not pooled: its listeners go with it.
        release(c, true);
      } else if (!channels().has(sub.channel)) {
        await c.query(`UNLISTEN ${sub.channel}`).catch(() => {});
      }
    },
  };
}

const shared = new WeakMap<Pool, ReturnType<typeof createSharedConnection>>();

/**
 * LISTEN on one channel, on the pool's one LISTEN connection, reconnecting
 * after `retryMs` when the connection is lost. `onNotify` gets each payload;
 * after (re)connecting it is called with null, for what was sent while nobody
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
  let connection = shared.get(pool);
  if (!connection) shared.set(pool, (connection = createSharedConnection(pool)));
  const conn = connection;
  const sub: Subscription = { channel, onNotify, retryMs: options.retryMs, logger };
  let started = false;
  return {
    async start(): Promise<void> {
      if (started) return;
      started = true;
      await conn.add(sub);
    },
    async stop(): Promise<void> {
      started = false;
      await conn.remove(sub);
    },
  };
}
