import path from 'node:path';
import type { Logger } from 'pino';
import { createBroker } from '../broker/index.js';
import { createCaseService } from '../cases/index.js';
import { createDashboard } from '../dashboard/index.js';
import {
  demoCredentialsFile,
  insertMissingRules,
  listDeviceIdentities,
  listFleet,
  listRuleOverrides,
  listRules,
  loadRuleState,
  openDatabase,
  saveRuleState,
  seedDemoCityIfEmpty,
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
    await insertMissingRules(db.pool, defaultRulePack);
    const demoCredentials: DemoCredential[] | null = config.demoCity
      ? await seedDemoCityIfEmpty(db.pool, {
          dataDir: config.dataDir,
          deviceCount: config.demoDeviceCount,
          logger: logger.child({ room: 'db' }),
        })
      : null;

    const directory = new Map((await listDeviceIdentities(db.pool)).map((d) => [d.id, d]));
    const evaluator = createEvaluator(await listRules(db.pool), await listRuleOverrides(db.pool));
    evaluator.setFleet(await listFleet(db.pool), Date.now());
    evaluator.restore(await loadRuleState(db.pool));
    const alarms = createAlarmService(db.pool, evaluator, logger.child({ room: 'rules' }));
    await alarms.restore(new Map([...directory.values()].map((d) => [d.id, d.type])));
    const reloadRules = async () => {
      const rules = await listRules(db.pool);
      evaluator.reload(rules, await listRuleOverrides(db.pool));
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
    const cases = createCaseService(db.pool, logger.child({ room: 'cases' }));
    alarms.onAlarm((event) => {
      if (event.kind === 'updated') return;
      void cases
        .handleAlarm({ kind: event.kind, alarm: event.alarm })
        .catch((err: unknown) => logger.error({ err }, 'case not registered'));
    });

    const ingest = createIngest(
      db.pool,
      {
        batchMaxRows: config.ingestBatchMaxRows,
        flushIntervalMs: config.ingestFlushIntervalMs,
        maxPayloadBytes: config.ingestMaxPayloadBytes,
      },
      logger.child({ room: 'ingest' }),
    );
    ingest.onReadings((device, readings) => alarms.handle(device, readings));
    cleanup.push(async () => {
      clearInterval(tickTimer);
      clearInterval(checkpointTimer);
      ingest.stop();
      await ingest.drain();
      await alarms.settled();
      await alarms.flushHolds();
      await checkpoint(true);
    });

    const broker = await createBroker(
      directory,
      ingest.accept,
      {
        host: config.mqttHost,
        port: config.mqttPort,
        maxPayloadBytes: config.ingestMaxPayloadBytes,
      },
      logger.child({ room: 'broker' }),
    );
    cleanup.push(() => broker.close());

    const health = () => ({
      status: 'ok',
      uptimeS: Math.round((Date.now() - startedAt) / 1000),
      database: db.capabilities,
      devices: { registered: directory.size, online: broker.onlineCount() },
      broker: broker.counters,
      ingest: {
        ...ingest.counters,
        ...ingest.writer.counters,
        pendingRows: ingest.writer.pendingRows(),
      },
      alarms: alarms.counters,
    });
    const dashboard = await createDashboard(
      { db: db.pool, cases, health, isOnline: broker.isOnline, reloadRules },
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
      directory,
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
