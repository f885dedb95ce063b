import type { Logger } from 'pino';
import {
  listFleet,
  listRuleOverrides,
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
}

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
  const alarms = createAlarmService(pool, evaluator, logger.child({ room: 'rules' }));
  await alarms.restore(new Map([...directory.values()].map((d) => [d.id, d.type])));
  const reloadRules = async () => {
    const rules = await listRules(pool);
    evaluator.reload(rules, await listRuleOverrides(pool));
    // Sites and roads edited since start: a new site override finds its devices.
    evaluator.setFleet(await listFleet(pool), Date.now());
    alarms.retire(new Set(rules.filter((r) => r.enabled).map((r) => r.id)));
  };
  const checkpoint = (all = false) =>
    saveRuleState(pool, evaluator.checkpoint(all)).catch((err: unknown) =>
      logger.error({ err }, 'rule state checkpoint failed'),
    );
  const tickTimer = setInterval(
    () => void alarms.tick().catch((err: unknown) => logger.error({ err }, 'rules tick failed')),
    options.tickMs ?? 10_000,
  );
  const checkpointTimer = setInterval(() => void checkpoint(), options.checkpointMs ?? 60_000);
  tickTimer.unref();
  checkpointTimer.unref();
  return {
    evaluator,
    alarms,
    reloadRules,
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
