import type { Logger } from 'pino';
import {
  acknowledgeAlarm,
  alarmEventsAfter,
  alarmEventsChannel,
  alarmTransaction,
  createEventFeed,
  getAlarm,
  newestAlarmVersion,
  shelveAlarm,
  unshelveAlarm,
  unshelveExpired,
  type EventFeedOptions,
  type Pool,
} from '../db/index.js';
import { HubError, type AlarmChange, type AlarmRecord } from '../domain/index.js';

/**
 * Every alarm change of every node, in version order (decision 0160): the
 * case feed's protocol on `alarm_events`. `publish` hands it the changes this
 * node committed, sent without a read when they are next.
 */
export function createAlarmFeed(pool: Pool, options: EventFeedOptions, logger: Logger) {
  const feed = createEventFeed<AlarmChange>(
    pool,
    {
      name: 'alarm',
      channel: alarmEventsChannel,
      readAfter: async (db, after, limit) =>
        (await alarmEventsAfter(db, after, limit)).map((c) => ({ version: c.version, event: c })),
      newest: newestAlarmVersion,
    },
    options,
    logger,
  );
  return {
    ...feed,
    publish(changes: readonly AlarmChange[]): void {
      for (const c of changes) void feed.offer(c, c.version);
    },
  };
}

export type AlarmFeed = ReturnType<typeof createAlarmFeed>;

/** Longest shelving: a week (engineering default; a longer one is a rule change, not a shelve). */
export const maxShelveMs = 7 * 24 * 3600_000;

/**
 * What operators do to alarms (issue #13): acknowledge with a comment, shelve
 * for a while, unshelve; and the leader's expiry of shelvings. `who` is the
 * logged-in user's name, never one the client sends. Each change takes an
 * alarm version and reaches every screen through the feed.
 */
export function createAlarmDesk(
  pool: Pool,
  publish: (changes: readonly AlarmChange[]) => void,
  now: () => number = Date.now,
) {
  async function run(
    fn: Parameters<typeof alarmTransaction<AlarmRecord>>[1],
  ): Promise<AlarmRecord> {
    const { result, changes } = await alarmTransaction(pool, fn);
    publish(changes);
    return result;
  }
  const mustGet = async (db: Parameters<typeof getAlarm>[0], id: number) => {
    const alarm = await getAlarm(db, id);
    if (!alarm) throw new HubError('HUB_ERR_ALARM_UNKNOWN', String(id));
    return alarm;
  };

  return {
    /** The first acknowledgement stands: a second one returns the alarm unchanged. */
    acknowledge: (id: number, who: string, comment: string | null) =>
      run(async (db, record) => {
        const { alarm, changed } = await acknowledgeAlarm(db, id, who, comment);
        if (!alarm) throw new HubError('HUB_ERR_ALARM_UNKNOWN', String(id));
        if (changed) record('acknowledged', alarm, { by: who, comment });
        return alarm;
      }),
    /** For `minutes`, or until `untilMs` (in the future, at most `maxShelveMs` ahead). */
    shelve: (
      id: number,
      who: string,
      when: { minutes: number } | { untilMs: number },
      comment: string | null,
    ) => {
      const at = now();
      const untilMs = 'minutes' in when ? at + when.minutes * 60_000 : when.untilMs;
      if (!(untilMs > at) || untilMs - at > maxShelveMs) {
        throw new HubError('HUB_ERR_BAD_REQUEST', 'shelve for 1 minute to 7 days');
      }
      return run(async (db, record) => {
        const until = new Date(untilMs).toISOString();
        const alarm = await shelveAlarm(db, id, { until, by: who, comment });
        if (!alarm) {
          const a = await mustGet(db, id);
          throw new HubError('HUB_ERR_ALARM_CLEARED', `alarm ${a.id} is ${a.state}`);
        }
        record('shelved', alarm, { by: who, comment });
        return alarm;
      });
    },
    unshelve: (id: number, who: string) =>
      run(async (db, record) => {
        const alarm = await unshelveAlarm(db, id);
        if (!alarm) return mustGet(db, id);
        record('unshelved', alarm, { by: who });
        return alarm;
      }),
    /** Shelvings that ran out come back (the leader's tick: once for the cluster). */
    async expireShelves(): Promise<number> {
      const { result, changes } = await alarmTransaction(pool, async (db, record) => {
        const back = await unshelveExpired(db, new Date(now()).toISOString());
        for (const a of back) record('unshelved', a);
        return back.length;
      });
      publish(changes);
      return result;
    },
  };
}

export type AlarmDesk = ReturnType<typeof createAlarmDesk>;
