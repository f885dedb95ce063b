import type { Logger } from 'pino';
import type { CaseService, WebhookService } from '../cases/index.js';
import {
  createLeaderLock,
  maintainStorage,
  type DatabaseCapabilities,
  type Pool,
} from '../db/index.js';
import type { HubConfig } from './config.js';
import { storagePolicyOf } from './prepare.js';
import type { Leadership } from './rules-runtime.js';

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
 * webhook deliveries a previous run or a vanished node left pending.
 */
export function startDuties(
  deps: {
    pool: Pool;
    capabilities: DatabaseCapabilities;
    cases: CaseService;
    webhooks: WebhookService;
    leadership: Leadership;
  },
  config: HubConfig,
  logger: Logger,
) {
  const { leadership } = deps;
  const dbLogger = logger.child({ room: 'db' });
  const maintain = () =>
    maintainStorage(
      deps.pool,
      deps.capabilities,
      storagePolicyOf(config),
      Date.now(),
      dbLogger,
    ).catch((err: unknown) => dbLogger.warn({ err }, 'storage maintenance failed'));
  const maintenance = setInterval(() => {
    if (leadership.isLeader()) void maintain();
  }, 3_600_000).unref();
  const pickUp = (idleForMs: number) => {
    if (leadership.isLeader()) void deps.webhooks.resumePending(idleForMs);
  };
  // A single node left its deliveries at its last stop; in a cluster the others may be retrying theirs.
  pickUp(leadership.clustered ? deps.webhooks.idleLimitMs() : 0);
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
  return {
    async stop(): Promise<void> {
      clearInterval(maintenance);
      clearInterval(caseTicker);
    },
  };
}
