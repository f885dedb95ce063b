import type { PoolClient } from 'pg';
import type { Pool } from './pool.js';

export interface LeaderLock {
  /** True while this process holds the lock. */
  isLeader(): boolean;
  /** Tries once now (it also retries every `retryMs`); resolves to isLeader(). */
  tryAcquire(): Promise<boolean>;
  /** Called with true when this process becomes the leader, false when it stops being one. */
  onChange(listener: (leader: boolean) => void): void;
  /** Releases the lock (if held) and stops trying. */
  release(): Promise<void>;
}

/**
 * Exactly one holder across every hub process on the same database: a
 * session-level PostgreSQL advisory lock on a dedicated connection (group
 * rules run on one node, shared/docs/architecture.md). If the holder dies,
 * its session ends and the lock is free; the others retry every `retryMs`.
 */
export function createLeaderLock(
  pool: Pool,
  key: number,
  options: { retryMs?: number } = {},
): LeaderLock {
  const retryMs = options.retryMs ?? 2000;
  const listeners: ((leader: boolean) => void)[] = [];
  let client: PoolClient | null = null;
  let leader = false;
  let stopped = false;
  let attempt: Promise<boolean> | null = null;

  const setLeader = (value: boolean) => {
    if (value === leader) return;
    leader = value;
    for (const l of listeners) l(value);
  };

  async function attemptOnce(): Promise<boolean> {
    if (stopped) return false;
    if (leader) return true;
    client ??= await pool.connect();
    const c = client;
    const { rows } = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key]);
    if (!rows[0]!.ok) {
      // Give the connection back between attempts: a waiting node holds nothing.
      c.release();
      client = null;
      return false;
    }
    if (stopped) {
      await c.query('SELECT pg_advisory_unlock($1)', [key]);
      c.release();
      client = null;
      return false;
    }
    c.once('error', () => {
      // The session is gone, and the lock with it.
      if (client === c) client = null;
      setLeader(false);
    });
    setLeader(true);
    return true;
  }

  function tryAcquire(): Promise<boolean> {
    attempt ??= attemptOnce()
      .catch(() => false)
      .finally(() => {
        attempt = null;
      });
    return attempt;
  }

  const timer = setInterval(() => void tryAcquire(), retryMs);
  timer.unref();

  return {
    isLeader: () => leader,
    tryAcquire,
    onChange(listener) {
      listeners.push(listener);
    },
    async release() {
      stopped = true;
      clearInterval(timer);
      await attempt;
      const c = client;
      client = null;
      const held = leader;
      // Stop leading before the lock is free: two nodes never lead at once.
      setLeader(false);
      if (c) {
        if (held) await c.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => {});
        c.release();
      }
    },
  };
}
