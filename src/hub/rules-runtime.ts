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
import type { AlarmChange } from '../domain/index.js';
import type { Ingest } from '../ingest/index.js';
import {
  createAlarmDesk,
  createAlarmService,
  createEvaluator,
  type AlarmFeed,
} from '../rules/index.js';
import { shareReplayedReadings, shareRuleReloads } from './cluster.js';
import type { Core } from './core.js';

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

/** Where this node's alarm changes go; nodes without sockets only write (NOTIFY tells the API nodes). */
export type AlarmSink = (changes: readonly AlarmChange[]) => void;

/**
 * This node's alarm outlet: every alarm change goes to its alarm feed when it
 * serves sockets (decision 0160), and the desk (acknowledge, shelve) publishes there too.
 */
export function alarmOutlet(core: Core, feed: AlarmFeed | undefined) {
  const publish: AlarmSink = (changes) => feed?.publish(changes);
  // Shelvings run on the workflow's clock, as deadlines do: a test moves both (HubOptions.now).
  const desk = createAlarmDesk(core.db.pool, publish, () => core.cases.now().getTime());
  return { publish, desk };
}

/** The rules engine of a broker or worker process: alarms to the outlet and to the cases. */
export async function startRules(core: Core, publish: AlarmSink): Promise<RulesRuntime> {
  const { options, logger } = core;
  const rules = await startRulesRuntime(
    core.db.pool,
    core.directory,
    {
      tickMs: options.rulesTickMs,
      checkpointMs: options.rulesCheckpointMs,
      now: options.rulesNow,
      leadership: core.leadership,
    },
    logger,
  );
  rules.alarms.onChanges(publish);
  rules.alarms.onAlarm((event) => {
    // `updated` carries severity changes too: the case follows its alarm's severity.
    void core.cases
      .handleAlarm({ kind: event.kind, alarm: event.alarm })
      .catch((err: unknown) => logger.error({ err }, 'case not updated from its alarm'));
  });
  return rules;
}

/** Rule edits made here reach the rules of every process (hub/cluster.ts). */
export async function shareReloads(core: Core, rules: RulesRuntime | undefined) {
  const reloads = await shareRuleReloads(
    core.db.pool,
    core.nodeId,
    { clustered: core.clustered, reload: rules?.reloadRules },
    core.logger.child({ room: 'rules' }),
  );
  core.stops.push(() => reloads.stop());
  return reloads;
}

/**
 * Readings this process ingests go to its rules, or, on an API process
 * without rules, the readings of its dead-letter replays to the leader's.
 * Then ingest recovers its spool, and the drain step is pushed: at stop,
 * held readings become durable before the rules and cases settle.
 */
export async function routeReadings(
  core: Core,
  parts: { readonly ingest?: Ingest; readonly rules?: RulesRuntime },
): Promise<void> {
  const { ingest, rules } = parts;
  const { logger } = core;
  const replays = await shareReplayedReadings(
    core.db.pool,
    { clustered: core.clustered, leadership: core.leadership, rules: rules?.alarms },
    logger.child({ room: 'rules' }),
  );
  core.stops.push(() => replays.stop());
  if (ingest && rules)
    ingest.onReadings((device, readings) => rules.alarms.handle(device, readings));
  else if (ingest)
    ingest.onReadings((device, readings) =>
      replays
        .forward(device, readings)
        .catch((err: unknown) =>
          logger.error({ err, deviceId: device.id }, 'replayed readings not sent to the rules'),
        ),
    );
  await ingest?.recover();
  core.stops.push(async () => {
    rules?.stopTimers();
    // Held readings become durable (committed, or spooled if the database is away).
    await ingest?.stop();
    await rules?.drain();
    await core.cases.settled();
  });
}
