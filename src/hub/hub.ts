import path from 'node:path';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createBroker, createCommandService, type CommandService } from '../broker/index.js';
import { createCaseService, createWebhookService } from '../cases/index.js';
import { createDashboard } from '../dashboard/index.js';
import {
  adminPasswordFile,
  applyStoragePolicies,
  demoCredentialsFile,
  ensureAdminUser,
  maintainStorage,
  insertMissingRules,
  listDeviceIdentities,
  listFleet,
  listRuleOverrides,
  listRules,
  loadRuleState,
  openDatabase,
  saveRuleState,
  seedCaseWorkflow,
  seedDemoCityIfEmpty,
  upsertDeviceStatuses,
  type DemoCredential,
} from '../db/index.js';
import { createIngest } from '../ingest/index.js';
import { createAlarmService, createEvaluator, defaultRulePack } from '../rules/index.js';
import type { HubConfig } from './config.js';
import { createLogger } from './logger.js';

/**
 * The composition root: starts the rooms in the order a message travels
 * (database, rules, cases, ingest, broker, dashboard) and stops them in reverse,
 * draining what is in flight. Wiring only; the logic lives in the rooms.
 */
export interface HubOptions {
  logger?: Logger;
  /** Clock of the cases workflow (deadlines, escalation); tests pass a fake one. */
  now?: () => Date;
  /** Rules engine timers (#4): fleet-wide rules and batched alarm updates, and state checkpoints. */
  rulesTickMs?: number;
  rulesCheckpointMs?: number;
}

export async function startHub(config: HubConfig, options: HubOptions = {}) {
  const logger = options.logger ?? createLogger(config.logLevel);
  const startedAt = Date.now();
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
    const storagePolicy = {
      compressAfterDays: config.storageCompressAfterDays,
      retentionDays: config.storageRetentionDays,
    };
    const dbLogger = logger.child({ room: 'db' });
    await applyStoragePolicies(db.pool, db.capabilities, storagePolicy, dbLogger);
    const maintenance = setInterval(() => {
      maintainStorage(db.pool, db.capabilities, storagePolicy, Date.now(), dbLogger).catch(
        (err: unknown) => dbLogger.warn({ err }, 'storage maintenance failed'),
      );
    }, 3_600_000).unref();
    cleanup.push(async () => clearInterval(maintenance));
    await insertMissingRules(db.pool, defaultRulePack);
    const demoCredentials: DemoCredential[] | null = config.demoCity
      ? await seedDemoCityIfEmpty(db.pool, {
          dataDir: config.dataDir,
          deviceCount: config.demoDeviceCount,
          logger: logger.child({ room: 'db' }),
        })
      : null;

    // Cases workflow (issue #5): deadlines, demo routing table, the first admin.
    await seedCaseWorkflow(db.pool);
    const adminCreated = await ensureAdminUser(db.pool, config.dataDir);
    if (adminCreated) logger.info({ file: adminCreated }, 'admin user created');

    const directory = new Map((await listDeviceIdentities(db.pool)).map((d) => [d.id, d]));
    const evaluator = createEvaluator(await listRules(db.pool), await listRuleOverrides(db.pool));
    evaluator.setFleet(await listFleet(db.pool), Date.now());
    evaluator.restore(await loadRuleState(db.pool));
    const alarms = createAlarmService(db.pool, evaluator, logger.child({ room: 'rules' }));
    await alarms.restore(new Map([...directory.values()].map((d) => [d.id, d.type])));
    const reloadRules = async () => {
      const rules = await listRules(db.pool);
      evaluator.reload(rules, await listRuleOverrides(db.pool));
      // Sites and roads edited since start: a new site override finds its devices.
      evaluator.setFleet(await listFleet(db.pool), Date.now());
      alarms.retire(new Set(rules.filter((r) => r.enabled).map((r) => r.id)));
    };
    const checkpoint = (all = false) =>
      saveRuleState(db.pool, evaluator.checkpoint(all)).catch((err: unknown) =>
        logger.error({ err }, 'rule state checkpoint failed'),
      );
    const tickTimer = setInterval(
      () => void alarms.tick().catch((err: unknown) => logger.error({ err }, 'rules tick failed')),
      options.rulesTickMs ?? 10_000,
    );
    const checkpointTimer = setInterval(
      () => void checkpoint(),
      options.rulesCheckpointMs ?? 60_000,
    );
    tickTimer.unref();
    checkpointTimer.unref();
    const cases = createCaseService(db.pool, logger.child({ room: 'cases' }), {
      now: options.now,
    });
    const webhooks = createWebhookService(db.pool, logger.child({ room: 'webhooks' }), {
      maxAttempts: config.webhookMaxAttempts,
      backoffMs: config.webhookBackoffMs,
    });
    cases.onChange((change) => webhooks.onCaseChange(change));
    webhooks.resumePending();
    cleanup.push(async () => webhooks.stop());
    const ticker = setInterval(
      () => void cases.tick().catch((err: unknown) => logger.error({ err }, 'case tick failed')),
      config.caseTickIntervalMs,
    );
    ticker.unref();
    cleanup.push(async () => clearInterval(ticker));
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
      clearInterval(tickTimer);
      clearInterval(checkpointTimer);
      // Held readings become durable (committed, or spooled if the database is away).
      await ingest.stop();
      await alarms.settled();
      await alarms.flushHolds();
      await checkpoint(true);
      await cases.settled();
    });

    // One Prometheus registry for every room (GET /metrics); rooms add their own metrics to it.
    const metricsRegistry = new Registry();
    collectDefaultMetrics({ register: metricsRegistry });
    const late: { commands?: CommandService } = {};
    const broker = await createBroker(
      directory,
      ingest.accept,
      {
        host: config.mqttHost,
        port: config.mqttPort,
        tcpEnabled: config.mqttTcpEnabled,
        ...(config.mqttTlsPort
          ? {
              tls: {
                port: config.mqttTlsPort,
                certFile: config.mqttTlsCertFile,
                keyFile: config.mqttTlsKeyFile,
              },
            }
          : {}),
        ...(config.mqttWsPort ? { wsPort: config.mqttWsPort } : {}),
        maxPayloadBytes: config.ingestMaxPayloadBytes,
        maxConnections: config.mqttMaxConnections,
        ratePerS: config.mqttRatePerS,
        rateBurst: config.mqttRateBurst,
        servicePassword: config.mqttServicePassword,
        stores: config.redisUrl
          ? { kind: 'redis', url: config.redisUrl, keyPrefix: config.redisKeyPrefix }
          : config.mqttPersistence === 'level'
            ? { kind: 'level', dir: path.join(config.dataDir, 'mqtt') }
            : { kind: 'memory' },
        statusSink: (records) => upsertDeviceStatuses(db.pool, records),
        statusFlushIntervalMs: config.statusFlushIntervalMs,
        registry: metricsRegistry,
        onCommandAck: (device, payload) => late.commands?.handleAck(device, payload),
        onOversize: (device, topic, payload) =>
          ingest.deadLetter(
            device.id,
            topic,
            'HUB_ERR_PAYLOAD_TOO_LARGE',
            `${payload.length} bytes refused by the broker (limit ${config.ingestMaxPayloadBytes})`,
            payload,
          ),
      },
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
        health,
        isOnline: broker.isOnline,
        replayDeadLetters: (ids) => ingest.replayDeadLetters(ids, (id) => directory.get(id)),
        dataDir: config.dataDir,
        sessionTtlHours: config.sessionTtlHours,
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
