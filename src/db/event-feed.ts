import type { Logger } from 'pino';
import { createListener } from './listen.js';
import type { Pool, Queryable } from './pool.js';

export interface EventFeedSource<E> {
  /** The channel a committed change notifies (in its transaction: sent at COMMIT). */
  readonly channel: string;
  /** Events after `after`, oldest first, at most `limit`. */
  readonly readAfter: (
    db: Queryable,
    after: number,
    limit: number,
  ) => Promise<{ version: number; event: E }[]>;
  /** The newest version stored now: where a feed starts. */
  readonly newest: (db: Queryable) => Promise<number>;
  /** What the feed is, for its log lines. */
  readonly name: string;
}

export interface EventFeedOptions {
  /** Poll fallback; with `listen`, NOTIFY wakes the feed sooner. */
  readonly pollMs: number;
  /** LISTEN (a cluster; on the process's one LISTEN connection); a single node wakes the feed itself. */
  readonly listen: boolean;
  /** Events read per query. */
  readonly batch?: number;
}

export type EventFeedListener<E> = (event: E, version: number) => void;

/**
 * Every change of every node, in version order (decisions 0105, 0110, 0160):
 * each node tails an events table after a cursor. Writers take a transaction
 * advisory lock before their versions, so versions commit in order and
 * nothing committed later can carry a version below the cursor. NOTIFY (in a
 * cluster) or `wake()` (after a local commit) makes the next read prompt; the
 * poll catches what a lost notification would miss. Used for cases and alarms.
 */
export function createEventFeed<E>(
  pool: Pool,
  source: EventFeedSource<E>,
  options: EventFeedOptions,
  logger: Logger,
) {
  const listeners: EventFeedListener<E>[] = [];
  const batch = options.batch ?? 1000;
  let cursor = 0;
  let chain: Promise<unknown> = Promise.resolve();
  let pending = false;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;

  /** Runs `fn` between two reads: nothing is sent while it runs. */
  function withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = chain.then(fn, fn);
    chain = run.catch(() => {});
    return run;
  }

  function deliver(event: E, version: number): void {
    cursor = version;
    for (const l of listeners) {
      try {
        l(event, version);
      } catch (err) {
        logger.error({ err }, `${source.name} feed listener failed`);
      }
    }
  }

  async function readOnce(): Promise<void> {
    for (;;) {
      const rows = await source.readAfter(pool, cursor, batch);
      for (const r of rows) deliver(r.event, r.version);
      if (rows.length < batch) return;
    }
  }

  const failed = (err: unknown) =>
    logger.warn({ err }, `${source.name} feed read failed; the poll retries`);

  /** Reads what is new; calls made while a read is queued share it. */
  function wake(): Promise<void> {
    if (stopped) return Promise.resolve();
    if (pending) return chain.then(() => {});
    pending = true;
    return withLock(async () => {
      pending = false;
      await readOnce();
    }).catch(failed);
  }

  /**
   * A change this node just committed: sent without a read when it is the
   * next version after the cursor (the alarm-to-operator path saves a round
   * trip); otherwise another node's change came between, and a read sends
   * both in order.
   */
  function offer(event: E, version: number): Promise<void> {
    if (stopped) return Promise.resolve();
    return withLock(async () => {
      if (version <= cursor) return;
      if (version === cursor + 1) deliver(event, version);
      else await readOnce();
    }).catch(failed);
  }

  // Every notification (and a reconnect) means: read what is new.
  const listener = options.listen
    ? createListener(
        pool,
        source.channel,
        () => void wake(),
        { retryMs: options.pollMs * 5 },
        logger,
      )
    : null;

  return {
    onChange(l: EventFeedListener<E>): void {
      listeners.push(l);
    },
    /** Starts after the newest change stored now. */
    async start(): Promise<void> {
      cursor = await source.newest(pool);
      await listener?.start();
      timer = setInterval(() => void wake(), options.pollMs);
      timer.unref();
    },
    wake,
    offer,
    withLock,
    /** The newest version sent to the listeners. */
    cursor: () => cursor,
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearInterval(timer);
      await chain;
      await listener?.stop();
    },
  };
}

export type EventFeed<E> = ReturnType<typeof createEventFeed<E>>;
