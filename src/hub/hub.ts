import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createBroker, createCommandService, type CommandService } from '../broker/index.js';
import { createCaseFeed, createCaseService, createWebhookService } from '../cases/index.js';
import { createDashboard } from '../dashboard/index.js';
import {
  adminPasswordFile,
  demoCredentialsFile,
  listDeviceIdentities,
  openDatabase,
  upsertDeviceStatuses,
} from '../db/index.js';
import { createIngest } from '../ingest/index.js';
import { brokerOptions } from './broker-options.js';
import { startDuties, startLeadership } from './cluster.js';
import type { HubConfig } from './config.js';
import { createLogger } from './logger.js';
import { prepareDatabase } from './prepare.js';
import { startRulesRuntime } from './rules-runtime.js';

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
  /** Clock of the cases workflow (deadlines, escalation); tests pass a fake one. */
  now?: () => Date;
  /** Rules engine timers (#4): fleet-wide rules and batched alarm updates, and state checkpoints. */
  rulesTickMs?: number;
  rulesCheckpointMs?: number;
  /** The rules' clock (fleet-wide rules); tests pass a fake one. */
  rulesNow?: () => number;
  /** How often a node that is not the leader tries the leader lock (default 2 s). */
  leaderRetryMs?: number;
}

export async function startHub(config: HubConfig, options: HubOptions = {}) {
  const logger = options.logger ?? createLogger(config.logLevel);
  const startedAt = Date.now();
  const nodeId = randomUUID();
  const clustered = config.redisUrl !== '';
  const db = await openDatabase({
    url: config.databaseUrl,
    poolMax: config.databasePoolMax,
    dataDir: config.dataDir,
    embeddedPort: config.embeddedPgPort,
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
    );

    const leadership = await startLeadership(
      db.pool,
      clustered,
      { eligible: true, retryMs: options.leaderRetryMs },
      logger,
    );
    const directory = new Map((await listDeviceIdentities(db.pool)).map((d) => [d.id, d]));
    const rules = await startRulesRuntime(
      db.pool,
      directory,
      {
        tickMs: options.rulesTickMs,
        checkpointMs: options.rulesCheckpointMs,
        now: options.rulesNow,
        leadership,
      },
      logger,
    );
    const { alarms, evaluator, reloadRules } = rules;
    const cases = createCaseService(db.pool, logger.child({ room: 'cases' }), {
      now: options.now,
      timeZone: config.cityTimezone,
    });
    const webhooks = createWebhookService(db.pool, logger.child({ room: 'webhooks' }), {
      maxAttempts: config.webhookMaxAttempts,
      backoffMs: config.webhookBackoffMs,
    });
    cases.onChange((change) => webhooks.onCaseChange(change));
    // Every node's case changes for this node's sockets; a local commit reads at once.
    const caseFeed = createCaseFeed(
      db.pool,
      { pollMs: config.caseFeedPollMs, listen: clustered },
      logger.child({ room: 'cases' }),
    );
    await caseFeed.start();
    cases.onChange(() => void caseFeed.wake());
    cleanup.push(() => caseFeed.stop());
    cleanup.push(async () => webhooks.stop());
    const duties = startDuties(
      { pool: db.pool, capabilities: db.capabilities, cases, webhooks, leadership },
      config,
      logger,
    );
    cleanup.push(() => duties.stop());
    alarms.onAlarm((event) => {
      // `updated` carries severity changes too: the case follows its alarm's severity.
      void cases
        .handleAlarm({ kind: event.kind, alarm: event.alarm })
        .catch((err: unknown) => logger.error({ err }, 'case not updated from its alarm'));
    });

    const ingest = createIngest(
      db.pool,
      {
        spoolDir: path.join(config.dataDir, 'spool'),
        batchMaxRows: config.ingestBatchMaxRows,
        flushIntervalMs: config.ingestFlushIntervalMs,
        maxPayloadBytes: config.ingestMaxPayloadBytes,
      },
      logger.child({ room: 'ingest' }),
    );
    ingest.onReadings((device, readings) => alarms.handle(device, readings));
    await ingest.recover();
    cleanup.push(async () => {
      rules.stopTimers();
      // Held readings become durable (committed, or spooled if the database is away).
      await ingest.stop();
      await rules.drain();
      await cases.settled();
    });

    // One Prometheus registry for every room (GET /metrics); rooms add their own metrics to it.
    const metricsRegistry = new Registry();
    collectDefaultMetrics({ register: metricsRegistry });
    const late: { commands?: CommandService } = {};
    const broker = await createBroker(
      directory,
      ingest.accept,
      brokerOptions(config, {
        nodeId,
        registry: metricsRegistry,
        statusSink: (records) => upsertDeviceStatuses(db.pool, records),
        onCommandAck: (device, payload) => late.commands?.handleAck(device, payload),
        onOversize: (device, topic, payload) =>
          ingest.deadLetter(
            device.id,
            topic,
            'HUB_ERR_PAYLOAD_TOO_LARGE',
            `${payload.length} bytes refused by the broker (limit ${config.ingestMaxPayloadBytes})`,
            payload,
          ),
      }),
      logger.child({ room: 'broker' }),
    );
    cleanup.push(() => broker.close());
    const commandService = createCommandService(
      db.pool,
      (topic, payload, qos) => broker.publish(topic, payload, qos),
      { timeoutMs: config.commandTimeoutMs },
      logger.child({ room: 'broker' }),
    );
    late.commands = commandService;
    cleanup.push(() => commandService.stop());

    const health = () => ({
      status: 'ok',
      node: { id: nodeId, role: 'all', leader: leadership.isLeader(), clustered },
      uptimeS: Math.round((Date.now() - startedAt) / 1000),
      database: db.capabilities,
      devices: { registered: directory.size, online: broker.onlineCount() },
      broker: { ...broker.counters, ports: broker.ports, commands: commandService.counters },
      ingest: {
        ...ingest.counters,
        ...ingest.writer.counters,
        pendingRows: ingest.writer.pendingRows(),
      },
      alarms: alarms.counters,
    });
    const dashboard = await createDashboard(
      {
        db: db.pool,
        cases,
        caseFeed,
        health,
        isOnline: broker.isOnline,
        replayDeadLetters: (ids) => ingest.replayDeadLetters(ids, (id) => directory.get(id)),
        dataDir: config.dataDir,
        sessionTtlHours: config.sessionTtlHours,
        sessionSweepIntervalMs: config.sessionSweepIntervalMs,
        cookieSecure: config.cookieSecure,
        trustProxy: config.trustProxy,
        metricsRegistry,
        gateway: {
          applyDevice: (device) => broker.applyDevice(device),
          commands: commandService,
        },
        reloadRules,
      },
      { host: config.httpHost, port: config.httpPort },
      logger.child({ room: 'dashboard' }),
    );
    cleanup.push(() => dashboard.close());

    // Released first at stop: another node takes over while this one drains.
    cleanup.push(() => leadership.release());
    logger.info(
      {
        mqtt: `mqtt://${config.mqttHost}:${broker.port}`,
        http: `http://${config.httpHost}:${dashboard.port}`,
      },
      'hub started',
    );
    return {
      config,
      logger,
      db,
      broker,
      dashboard,
      ingest,
      alarms,
      evaluator,
      reloadRules,
      cases,
      webhooks,
      directory,
      adminPasswordFile: path.join(config.dataDir, adminPasswordFile),
      adminCreated: adminCreated !== null,
      commands: commandService,
      metricsRegistry,
      demoCredentials,
      credentialsFile: path.join(config.dataDir, demoCredentialsFile),
      mqttPort: broker.port,
      httpPort: dashboard.port,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export type Hub = Awaited<ReturnType<typeof startHub>>;
