import type { Logger } from 'pino';
import {
  listFleet,
  listRuleOverrides,
  latestSince,
  listRules,
  loadRuleState,
  saveRuleState,
  type DeviceIdentity,
  type Pool,
} from '../db/index.js';
import { createAlarmService, createEvaluator } from '../rules/index.js';

export interface RulesRuntimeOptions {
  /** Fleet-wide rules and batched alarm updates (#4). */
  readonly tickMs?: number;
  readonly checkpointMs?: number;
  /** The rules' clock (ticks); tests pass a fake one. */
  readonly now?: () => number;
  /**
   * Who runs the fleet-wide rules (group ratio, offline): the leader of the
   * cluster. In a cluster the leader sees other nodes' devices through
   * `device_latest`.
   */
  readonly leadership: Leadership;
}

/** This node's part in the cluster: a single node is always the leader. */
export interface Leadership {
  readonly clustered: boolean;
  isLeader(): boolean;
  onChange(listener: (leader: boolean) => void): void;
}

/** Readings stored a little late (batching, another node's 5 s latest flush) are still seen. */
const latestSlackMs = 60_000;

/**
 * The rules engine of this process: the evaluator loaded with the rules,
 * overrides, fleet and checkpointed state, the alarm service with the open
 * alarms, the tick and checkpoint timers, and a reload for the rules routes.
 */
export async function startRulesRuntime(
  pool: Pool,
  directory: ReadonlyMap<string, DeviceIdentity>,
  options: RulesRuntimeOptions,
  logger: Logger,
) {
  const evaluator = createEvaluator(await listRules(pool), await listRuleOverrides(pool));
  evaluator.setFleet(await listFleet(pool), Date.now());
  evaluator.restore(await loadRuleState(pool));
  const alarms = createAlarmService(pool, evaluator, logger.child({ room: 'rules' }), {
    ...(options.now ? { now: options.now } : {}),
  });
  const types = () => new Map([...directory.values()].map((d) => [d.id, d.type]));
  await alarms.restore(types());
  const { leadership } = options;
  // Fleet-wide rules run once this node has taken their state over.
  let runsFleet = leadership.isLeader();
  let latestCursorMs = 0;
  leadership.onChange((leader) => {
    runsFleet = false;
    if (!leader) return;
    alarms.takeOverFleet(types()).then(
      (n) => {
        latestCursorMs = 0;
        runsFleet = leadership.isLeader();
        logger.info({ openFleetAlarms: n }, 'this node runs the fleet-wide rules');
      },
      (err: unknown) => logger.error({ err }, 'fleet-wide rules not taken over'),
    );
  });
  /** Other nodes' devices, as they stored them: the leader's view of the whole fleet. */
  async function observeFleet(): Promise<void> {
    const rows = await latestSince(pool, latestCursorMs - latestSlackMs);
    for (const r of rows) {
      evaluator.observe(r.deviceId, r.timeMs, r.data);
      // Never past this node's clock: one device clock running ahead would hide the others.
      if (r.timeMs > latestCursorMs) latestCursorMs = Math.min(r.timeMs, Date.now());
    }
  }
  const tick = async () => {
    const fleet = runsFleet;
    if (fleet && leadership.clustered) await observeFleet();
    await alarms.tick(undefined, { fleet });
  };
  const reloadRules = async () => {
    const rules = await listRules(pool);
    evaluator.reload(rules, await listRuleOverrides(pool));
    // Sites and roads edited since start: a new site override finds its devices.
    evaluator.setFleet(await listFleet(pool), Date.now());
    alarms.retire(new Set(rules.filter((r) => r.enabled).map((r) => r.id)));
  };
  const checkpoint = (all = false) =>
    saveRuleState(pool, evaluator.checkpoint(all, runsFleet)).catch((err: unknown) =>
      logger.error({ err }, 'rule state checkpoint failed'),
    );
  const tickTimer = setInterval(
    () => void tick().catch((err: unknown) => logger.error({ err }, 'rules tick failed')),
    options.tickMs ?? 10_000,
  );
  const checkpointTimer = setInterval(() => void checkpoint(), options.checkpointMs ?? 60_000);
  tickTimer.unref();
  checkpointTimer.unref();
  return {
    evaluator,
    alarms,
    reloadRules,
    /** Whether this node runs the fleet-wide rules now. */
    runsFleet: () => runsFleet,
    /** Stops the timers; the caller drains ingest first, then calls `drain`. */
    stopTimers(): void {
      clearInterval(tickTimer);
      clearInterval(checkpointTimer);
    },
    /** Stores what is in flight: transitions, batched holds and the state checkpoint. */
    async drain(): Promise<void> {
      await alarms.settled();
      await alarms.flushHolds();
      await checkpoint(true);
    },
  };
}

export type RulesRuntime = Awaited<ReturnType<typeof startRulesRuntime>>;
