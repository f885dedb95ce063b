import type { Logger } from 'pino';
import {
  caseEventsAfter,
  caseEventsChannel,
  createEventFeed,
  type EventFeed,
  type EventFeedOptions,
  type Pool,
} from '../db/index.js';
import type { CaseChange } from '../domain/index.js';

// The channel lives with the transaction that notifies it (db/case-events.ts).
export { caseEventsChannel };

export type CaseFeedOptions = EventFeedOptions;

/**
 * Every case change of every node, in version order (decision 0110): each
 * node tails `case_events` after a cursor (`db/event-feed.ts`). Case changes
 * commit in version order (they take a transaction advisory lock before
 * their versions), so nothing committed later can carry a version below it.
 */
export function createCaseFeed(pool: Pool, options: CaseFeedOptions, logger: Logger) {
  const feed = createEventFeed<CaseChange>(
    pool,
    {
      name: 'case',
      channel: caseEventsChannel,
      readAfter: async (db, after, limit) =>
        (await caseEventsAfter(db, after, limit)).map((r) => ({
          version: r.version,
          event: { reason: r.reason, case: r.snapshot, action: r.action, prevCrewId: r.prevCrewId },
        })),
      newest: async (db) => {
        const { rows } = await db.query<{ v: number }>(
          `SELECT coalesce(max(version), 0)::bigint AS v FROM case_events`,
        );
        return rows[0]!.v;
      },
    },
    options,
    logger,
  );
  return {
    ...feed,
    /** A change this node just committed (see `EventFeed.offer`). */
    offer: (change: CaseChange): Promise<void> => feed.offer(change, change.case.version),
  };
}

export type CaseFeed = Omit<EventFeed<CaseChange>, 'offer'> & {
  offer(change: CaseChange): Promise<void>;
};
