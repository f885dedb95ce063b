import { createCaseFeed } from '../cases/index.js';
import { createStormWatch } from '../broker/index.js';
import {
  createDashboard,
  createDeviceStatusFeed,
  createOpsServer,
  createSessionEnds,
} from '../dashboard/index.js';
import { createReadingWatch, type Ingest } from '../ingest/index.js';
import { createAlarmFeed, type AlarmDesk } from '../rules/index.js';
import { shareSessionEnds } from './cluster.js';
import type { Core } from './core.js';
import type { Gateway } from './gateway.js';
import type { Health } from './health.js';

/**
 * The feeds of an API process, made before the parts that write to them and
 * started with the dashboard: every node's alarm changes (decision 0160) and
 * device online/offline flips (decision 0162) for this node's sockets; a local
 * commit goes out without a read.
 */
export function createFeeds(core: Core) {
  const options = { pollMs: core.config.caseFeedPollMs, listen: core.clustered };
  return {
    alarms: createAlarmFeed(core.db.pool, options, core.logger.child({ room: 'rules' })),
    deviceStatus: createDeviceStatusFeed(
      core.db.pool,
      options,
      core.logger.child({ room: 'dashboard' }),
    ),
  };
}

export type Feeds = ReturnType<typeof createFeeds>;

/** REST and socket.io of an API process, over every part it runs. */
export async function startApi(
  core: Core,
  parts: {
    readonly feeds: Feeds;
    readonly alarmDesk: AlarmDesk;
    readonly ingest: Ingest;
    readonly gateway: Gateway;
    readonly reloadEverywhere: () => Promise<void>;
    readonly health: Health;
  },
) {
  const { config, db, logger, stops, directory, cases } = core;
  const { feeds, gateway, ingest } = parts;
  // Every node's case changes for this node's sockets; a local commit goes out without a read.
  const caseFeed = createCaseFeed(
    db.pool,
    { pollMs: config.caseFeedPollMs, listen: core.clustered },
    logger.child({ room: 'cases' }),
  );
  await caseFeed.start();
  cases.onChange((change) => void caseFeed.offer(change));
  stops.push(() => caseFeed.stop());
  await feeds.alarms.start();
  stops.push(() => feeds.alarms.stop());
  await feeds.deviceStatus.start();
  stops.push(() => feeds.deviceStatus.stop());
  const sessions = createSessionEnds();
  if (core.clustered) {
    const shared = await shareSessionEnds(
      db.pool,
      core.nodeId,
      sessions,
      logger.child({ room: 'dashboard' }),
    );
    stops.push(() => shared.stop());
  }
  const dashboard = await createDashboard(
    {
      db: db.pool,
      cases,
      evaluation: core.evaluation,
      reports: core.reports,
      caseFeed,
      alarmFeed: feeds.alarms,
      alarmDesk: parts.alarmDesk,
      deviceStatusFeed: feeds.deviceStatus,
      readingWatch: createReadingWatch(gateway.broker.tap, (id) => directory.get(id)?.type, {
        maxPayloadBytes: config.ingestMaxPayloadBytes,
        maxBatchReadings: config.ingestBatchMaxRows,
      }),
      health: parts.health,
      isOnline: (deviceId) => gateway.broker.isOnline(deviceId),
      replayDeadLetters: (ids) => ingest.replayDeadLetters(ids, (id) => directory.get(id)),
      dataDir: config.dataDir,
      webhookAllowPrivateTargets: config.webhookAllowPrivateTargets,
      gridSettings: config.grid,
      sessionTtlHours: config.sessionTtlHours,
      loginGuard: {
        maxFailuresPerAddress: config.loginMaxFailuresPerAddress,
        hashQueueMax: config.loginHashQueueMax,
        hashConcurrency: config.loginHashConcurrency,
        hashNice: config.loginHashNice,
        stormShare: config.loginHashStormShare,
        storming: createStormWatch(
          () => gateway.broker.counters.connects,
          config.loginStormConnectsPerS,
        ),
      },
      sessionSweepIntervalMs: config.sessionSweepIntervalMs,
      sessions,
      cookieSecure: config.cookieSecure,
      trustProxy: config.trustProxy,
      allowedOrigins: config.httpAllowedOrigins,
      metricsRegistry: core.metricsRegistry,
      ui: { mapTileUrl: config.mapTileUrl, mapTileAttribution: config.mapTileAttribution },
      gateway: {
        applyDevice: (device) => gateway.broker.applyDevice(device),
        commands: gateway.commands,
      },
      // Rules run on broker and worker nodes: each reloads an edit made here.
      reloadRules: parts.reloadEverywhere,
    },
    { host: config.httpHost, port: config.httpPort },
    logger.child({ room: 'dashboard' }),
  );
  stops.push(() => dashboard.close());
  return { dashboard, httpPort: dashboard.port };
}

/** Health and metrics only, on a process without the dashboard (broker, worker). */
export async function startOps(core: Core, health: Health) {
  const { config } = core;
  const ops = await createOpsServer(
    health,
    core.metricsRegistry,
    { host: config.httpHost, port: config.httpPort },
    core.logger.child({ room: 'dashboard' }),
  );
  core.stops.push(() => ops.close());
  return { dashboard: undefined, httpPort: ops.port };
}
