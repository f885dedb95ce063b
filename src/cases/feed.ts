import type { Logger } from 'pino';
import { caseEventsAfter, createListener, type Pool } from '../db/index.js';
import type { CaseChange } from './cases.js';

/** The channel a committed case change notifies (in its transaction: sent at COMMIT). */
export const caseEventsChannel = 'hub_case_events';

export interface CaseFeedOptions {
  /** Poll fallback; with `listen`, NOTIFY wakes the feed sooner. */
  readonly pollMs: number;
  /** LISTEN (a cluster; on the process's one LISTEN connection); a single node wakes the feed itself. */
  readonly listen: boolean;
  /** Events read per query. */
  readonly batch?: number;
}

export type CaseFeedListener = (change: CaseChange, version: number) => void;

/**
 * Every case change of every node, in version order (decision 0110): each
 * node tails `case_events` after a cursor. Case changes commit in version
 * order (they take a transaction advisory lock before their versions), so
 * nothing committed later can carry a version below the cursor. NOTIFY (in
 * a cluster) or `wake()` (after a local commit) makes the next read prompt;
 * the poll catches what a lost notification would miss.
 */
export function createCaseFeed(pool: Pool, options: CaseFeedOptions, logger: Logger) {
  const listeners: CaseFeedListener[] = [];
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

  function deliver(change: CaseChange, version: number): void {
    cursor = version;
    for (const l of listeners) {
      try {
        l(change, version);
      } catch (err) {
        logger.error({ err }, 'case feed listener failed');
      }
    }
  }

  async function readOnce(): Promise<void> {
    for (;;) {
      const rows = await caseEventsAfter(pool, cursor, batch);
      for (const r of rows)
        deliver(
          { reason: r.reason, case: r.snapshot, action: r.action, prevCrewId: r.prevCrewId },
          r.version,
        );
      if (rows.length < batch) return;
    }
  }

  /** Reads what is new; calls made while a read is queued share it. */
  function wake(): Promise<void> {
    if (stopped) return Promise.resolve();
    if (pending) return chain.then(() => {});
    pending = true;
    return withLock(async () => {
      pending = false;
      await readOnce();
    }).catch((err: unknown) => logger.warn({ err }, 'case feed read failed; the poll retries'));
  }

  /**
   * A change this node just committed: sent without a read when it is the
   * next version after the cursor (the alarm-to-operator path saves a round
   * trip); otherwise another node's change came between, and a read sends
   * both in order.
   */
  function offer(change: CaseChange): Promise<void> {
    if (stopped) return Promise.resolve();
    return withLock(async () => {
      const version = change.case.version;
      if (version <= cursor) return;
      if (version === cursor + 1) deliver(change, version);
      else await readOnce();
    }).catch((err: unknown) => logger.warn({ err }, 'case feed read failed; the poll retries'));
  }

  // Every notification (and a reconnect) means: read what is new.
  const listener = options.listen
    ? createListener(
        pool,
        caseEventsChannel,
        () => void wake(),
        { retryMs: options.pollMs * 5 },
        logger,
      )
    : null;

  return {
    onChange(l: CaseFeedListener): void {
      listeners.push(l);
    },
    /** Starts after the newest change stored now. */
    async start(): Promise<void> {
      const { rows } = await pool.query<{ v: number }>(
        `SELECT coalesce(max(version), 0)::bigint AS v FROM case_events`,
      );
      cursor = rows[0]!.v;
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

export type CaseFeed = ReturnType<typeof createCaseFeed>;
