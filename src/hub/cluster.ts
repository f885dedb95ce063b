import type { Logger } from 'pino';
import {
  createLeaderLock,
  listenReplays,
  listenRulesChanged,
  listenSessions,
  maintainStorage,
  noticeReplay,
  noticeRulesChanged,
  noticeSessions,
  pruneAlarmEvents,
  pruneIdempotencyKeys,
  refreshAreaRollups,
  type Pool,
  type ReplayedDevice,
  type SessionNotice,
} from '../db/index.js';
import type { SessionEnds } from '../dashboard/index.js';
import type { AlarmDesk, Reading as RuleReading } from '../rules/index.js';
import type { Core } from './core.js';
import { storagePolicyOf } from './prepare.js';
import type { Leadership } from './rules-runtime.js';

/** Alarm changes kept for resuming screens (a week); older ones a screen gets as a snapshot. */
const alarmEventsKeepMs = 7 * 24 * 3600_000;
/** How often the leader brings back shelved alarms whose time is up. */
const shelfTickMs = 5_000;

/** The advisory lock key of the hub's leader ("HUB" + 0110, decision 0110). */
export const leaderLockKey = 0x48_55_42_6e;

/**
 * Exactly-one-node duties (decision 0110). A single hub is its own leader. In
 * a cluster (REDIS_URL set, or a role other than `all`) the leader is the node
 * that holds a PostgreSQL session advisory lock; when it dies its session
 * ends, the lock is free and another node takes over within `retryMs`.
 */
export async function startLeadership(
  pool: Pool,
  clustered: boolean,
  options: { eligible: boolean; retryMs?: number },
  logger: Logger,
): Promise<Leadership & { release(): Promise<void> }> {
  if (!clustered || !options.eligible) {
    const leader = !clustered && options.eligible;
    return {
      clustered,
      isLeader: () => leader,
      onChange: () => {},
      release: async () => {},
    };
  }
  const lock = createLeaderLock(pool, leaderLockKey, { retryMs: options.retryMs });
  lock.onChange((leader) =>
    logger.info(
      { leader },
      leader ? 'this node is the leader' : 'this node is no longer the leader',
    ),
  );
  await lock.tryAcquire();
  return {
    clustered,
    isLeader: () => lock.isLeader(),
    onChange: (listener) => lock.onChange(listener),
    release: () => lock.release(),
  };
}

/**
 * The time-driven duties only the leader runs: storage maintenance
 * (partitions, retention), case deadlines and escalation, and the pickup of
 * webhook deliveries a previous run or a vanished node left pending. Worker
 * roles run them; their stop is pushed on the node's stops.
 */
export function startDuties(core: Core, alarmDesk: AlarmDesk): void {
  const { config, logger, leadership } = core;
  const deps = { ...core, pool: core.db.pool, capabilities: core.db.capabilities, alarmDesk };
  const dbLogger = logger.child({ room: 'db' });
  const maintain = () =>
    maintainStorage(deps.pool, deps.capabilities, storagePolicyOf(config), Date.now(), dbLogger)
      // The area rollup after the partitions; off the start path, as its first run reads all history.
      .then(() => refreshAreaRollups(deps.pool, Date.now()))
      // A screen that has been away longer resumes from a snapshot (decision 0160).
      .then(() =>
        pruneAlarmEvents(deps.pool, new Date(Date.now() - alarmEventsKeepMs).toISOString()),
      )
      .then(() => pruneIdempotencyKeys(deps.pool))
      .catch((err: unknown) => dbLogger.warn({ err }, 'storage maintenance failed'));
  const maintenance = setInterval(() => {
    if (leadership.isLeader()) void maintain();
  }, 3_600_000).unref();
  const pickUp = (idleForMs: number) => {
    if (leadership.isLeader()) void deps.webhooks.resumePending(idleForMs);
  };
  // A single node left its deliveries at its last stop; in a cluster the others may be retrying theirs.
  pickUp(leadership.clustered ? deps.webhooks.idleLimitMs() : 0);
  // Each closed day, month and quarter gets its report once (issue #15).
  const report = () =>
    deps.reports
      .generateDue()
      .catch((err: unknown) => logger.error({ err }, 'report generation failed'));
  const reporting = setInterval(() => {
    if (leadership.isLeader()) void report();
  }, config.reportCheckIntervalMs).unref();
  leadership.onChange((leader) => {
    if (!leader) return;
    void maintain();
    pickUp(deps.webhooks.idleLimitMs());
  });
  const caseTicker = setInterval(() => {
    if (!leadership.isLeader()) return;
    void deps.cases.tick().catch((err: unknown) => logger.error({ err }, 'case tick failed'));
    if (leadership.clustered) pickUp(deps.webhooks.idleLimitMs());
  }, config.caseTickIntervalMs).unref();
  // Shelved alarms come back when their time is up (issue #13), once for the cluster.
  const shelfTicker = setInterval(() => {
    if (!leadership.isLeader()) return;
    void deps.alarmDesk
      .expireShelves()
      .catch((err: unknown) => logger.error({ err }, 'shelved alarms not brought back'));
  }, shelfTickMs).unref();
  core.stops.push(async () => {
    clearInterval(maintenance);
    clearInterval(caseTicker);
    clearInterval(shelfTicker);
    clearInterval(reporting);
    await deps.reports.idle();
  });
}

/**
 * In a cluster a rule edited through one API process must reach the rules of
 * every broker and worker process. `reloadEverywhere` reloads here and sends a
 * notice (db/notices.ts); each process with rules listens and reloads on a
 * notice from another node (and after a reconnect, for what it may have missed).
 */
export async function shareRuleReloads(
  pool: Pool,
  nodeId: string,
  local: { clustered: boolean; reload?: () => Promise<void> },
  logger: Logger,
) {
  const reload = local.reload ?? (async () => {});
  const listener =
    local.clustered && local.reload
      ? listenRulesChanged(
          pool,
          (from) => {
            if (from === nodeId) return;
            reload().catch((err: unknown) => logger.error({ err }, 'rules not reloaded'));
          },
          logger,
        )
      : null;
  await listener?.start();
  return {
    async reloadEverywhere(): Promise<void> {
      await reload();
      if (local.clustered) await noticeRulesChanged(pool, nodeId);
    },
    stop: async () => listener?.stop(),
  };
}

/** A session notice carries at most this many token hashes (64 hex chars each, under 8000 bytes). */
const hashesPerNotify = 100;

/**
 * In a cluster a session ended through one API process (logout, disabled,
 * password changed or reset, expiry) or a user whose role, crew or area
 * changed must reach that user's live connections on every API process at
 * once, not at their next sweep. This process sends a notice of what it ended
 * here; the others end the same sessions with the same reason. `revoked` is
 * what a sweep finds already ended elsewhere, so it is not announced again.
 * A lost notice is caught by the sweep (as `revoked`).
 */
export async function shareSessionEnds(
  pool: Pool,
  nodeId: string,
  sessions: SessionEnds,
  logger: Logger,
) {
  const notify = (notice: SessionNotice) =>
    noticeSessions(pool, notice).catch((err: unknown) =>
      logger.warn({ err }, 'ended sessions not announced'),
    );
  sessions.onEnd((hashes, reason, fromOtherNode) => {
    if (fromOtherNode || reason === 'revoked') return;
    for (let i = 0; i < hashes.length; i += hashesPerNotify) {
      void notify({ from: nodeId, reason, tokenHashes: hashes.slice(i, i + hashesPerNotify) });
    }
  });
  sessions.onUserChanged((userId, fromOtherNode) => {
    if (!fromOtherNode) void notify({ from: nodeId, reason: 'user_changed', userId });
  });
  const listener = listenSessions(
    pool,
    (notice) => {
      if (notice.from === nodeId) return;
      if ('userId' in notice) sessions.userChanged(notice.userId, true);
      else sessions.end(notice.tokenHashes, notice.reason, true);
    },
    logger,
  );
  await listener.start();
  return { stop: () => listener.stop() };
}

/**
 * A dead-letter replay through an `api` process stores the readings there,
 * but the rules run on broker and worker processes. The API process sends the
 * replayed readings (device and metrics) as notices; every process with rules
 * listens and the leader, of which there is one, evaluates them, as a single
 * hub does on a replay. The device travels with them, since a replay often
 * follows a type change the leader (which may run no broker) has not seen.
 */
export async function shareReplayedReadings(
  pool: Pool,
  local: {
    clustered: boolean;
    leadership: Leadership;
    rules?: { handle(device: ReplayedDevice, readings: readonly RuleReading[]): void };
  },
  logger: Logger,
) {
  const { rules } = local;
  const listener =
    local.clustered && rules
      ? listenReplays(
          pool,
          (notice) => {
            if (local.leadership.isLeader()) rules.handle(notice.device, notice.readings);
          },
          logger,
        )
      : null;
  await listener?.start();
  return {
    /** Sends readings replayed here to the leader's rules, when this process runs none. */
    async forward(device: ReplayedDevice, readings: readonly RuleReading[]): Promise<void> {
      if (!local.clustered || rules) return;
      const { id, type, gridCode } = device;
      await noticeReplay(
        pool,
        { id, type, gridCode },
        readings.map((r) => ({ timeMs: r.timeMs, metrics: r.metrics })),
      );
    },
    stop: async () => listener?.stop(),
  };
}
