import path from 'node:path';
import { adminPasswordFile, demoCredentialsFile } from '../db/index.js';
import { createFeeds, startApi, startOps } from './api.js';
import { startDuties } from './cluster.js';
import type { HubConfig, HubRole } from './config.js';
import { startCore, type Core, type HubOptions } from './core.js';
import { startGateway, type Gateway } from './gateway.js';
import { healthOf } from './health.js';
import { startIngest, watchStorage } from './ingest-runtime.js';
import { checkRole } from './roles.js';
import {
  alarmOutlet,
  routeReadings,
  shareReloads,
  startRules,
  type RulesRuntime,
} from './rules-runtime.js';

export type { HubOptions };

/*
 * The composition root: each role is a list of parts, started in the order a
 * message travels (database, rules, cases, ingest, broker, dashboard) and
 * stopped in reverse, draining what is in flight. Wiring only; each part
 * lives in its own module: `core.ts` (what every role runs), `rules-runtime.ts`,
 * `ingest-runtime.ts`, `gateway.ts` (broker and commands), `api.ts`
 * (dashboard, feeds), `cluster.ts` (leadership, duties, notices), `health.ts`,
 * `roles.ts` (role decisions).
 */

/** What the rules engine of a role exposes; a role without rules has none of it. */
const rulesParts = (rules: RulesRuntime) => ({
  alarms: rules.alarms,
  evaluator: rules.evaluator,
  reloadRules: rules.reloadRules,
});
const noRules = { alarms: undefined, evaluator: undefined, reloadRules: undefined };
const gatewayParts = (gateway: Gateway) => ({
  broker: gateway.broker,
  commands: gateway.commands,
  mqttPort: gateway.mqttPort,
});
const noGateway = { broker: undefined, commands: undefined, mqttPort: 0 };

/** `all`: every room in one process. */
async function assembleAll(core: Core) {
  const feeds = createFeeds(core);
  const alarms = alarmOutlet(core, feeds.alarms);
  const rules = await startRules(core, alarms.publish);
  const reloads = await shareReloads(core, rules);
  startDuties(core, alarms.desk);
  const ingest = startIngest(core);
  await routeReadings(core, { ingest, rules });
  watchStorage(core, ingest, rules);
  const gateway = await startGateway(core, ingest, rules, {
    listeners: true,
    onStatusStored: () => void feeds.deviceStatus.wake(),
  });
  const health = healthOf(core, { ingest, gateway, alarms: rules.alarms });
  const api = await startApi(core, {
    feeds,
    alarmDesk: alarms.desk,
    ingest,
    gateway,
    reloadEverywhere: () => reloads.reloadEverywhere(),
    health,
  });
  return { ...rulesParts(rules), ...gatewayParts(gateway), ingest, alarmDesk: alarms.desk, ...api };
}

/** `broker`: MQTT listeners, ingest, the per-device rules of the devices it serves. */
async function assembleBroker(core: Core) {
  const alarms = alarmOutlet(core, undefined);
  const rules = await startRules(core, alarms.publish);
  await shareReloads(core, rules);
  const ingest = startIngest(core);
  await routeReadings(core, { ingest, rules });
  watchStorage(core, ingest, rules);
  const gateway = await startGateway(core, ingest, rules, { listeners: true });
  const ops = await startOps(core, healthOf(core, { ingest, gateway, alarms: rules.alarms }));
  return { ...rulesParts(rules), ...gatewayParts(gateway), ingest, alarmDesk: alarms.desk, ...ops };
}

/** `worker`: the rules and the duties of the leader (it may lead). */
async function assembleWorker(core: Core) {
  const alarms = alarmOutlet(core, undefined);
  const rules = await startRules(core, alarms.publish);
  await shareReloads(core, rules);
  startDuties(core, alarms.desk);
  await routeReadings(core, { rules });
  const ops = await startOps(core, healthOf(core, { alarms: rules.alarms }));
  return { ...rulesParts(rules), ...noGateway, ingest: undefined, alarmDesk: alarms.desk, ...ops };
}

/**
 * `api`: REST and socket.io with the case feed; a broker without listeners
 * for commands and registry changes, ingest for dead-letter replays.
 */
async function assembleApi(core: Core) {
  const feeds = createFeeds(core);
  const alarms = alarmOutlet(core, feeds.alarms);
  const reloads = await shareReloads(core, undefined);
  const ingest = startIngest(core);
  await routeReadings(core, { ingest });
  const gateway = await startGateway(core, ingest, undefined, {
    listeners: false,
    onStatusStored: () => void feeds.deviceStatus.wake(),
  });
  const api = await startApi(core, {
    feeds,
    alarmDesk: alarms.desk,
    ingest,
    gateway,
    reloadEverywhere: () => reloads.reloadEverywhere(),
    health: healthOf(core, { ingest, gateway }),
  });
  return { ...noRules, ...gatewayParts(gateway), ingest, alarmDesk: alarms.desk, ...api };
}

/** What each role runs (docs/deploy.md). */
const roleAssemblies = {
  all: assembleAll,
  broker: assembleBroker,
  worker: assembleWorker,
  api: assembleApi,
} satisfies Record<HubRole, (core: Core) => Promise<unknown>>;

type RoleParts = Awaited<ReturnType<(typeof roleAssemblies)[HubRole]>>;

/** Starts the core, then the role's parts; a failure stops what started. */
async function start<P extends { httpPort: number; mqttPort: number }>(
  config: HubConfig,
  options: HubOptions,
  assemble: (core: Core) => Promise<P>,
) {
  checkRole(config);
  const core = await startCore(config, options);
  try {
    const parts = await assemble(core);
    // Released first at stop: another node takes over while this one drains.
    core.stops.push(() => core.leadership.release());
    const { role, mqttHost, httpHost } = config;
    core.logger.info(
      {
        role,
        nodeId: core.nodeId,
        ...(parts.mqttPort ? { mqtt: `mqtt://${mqttHost}:${parts.mqttPort}` } : {}),
        http: `http://${httpHost}:${parts.httpPort}`,
      },
      'hub started',
    );
    return {
      config,
      logger: core.logger,
      db: core.db,
      role,
      nodeId: core.nodeId,
      isLeader: () => core.leadership.isLeader(),
      cases: core.cases,
      webhooks: core.webhooks,
      directory: core.directory,
      adminPasswordFile: path.join(config.dataDir, adminPasswordFile),
      adminCreated: core.adminCreated !== null,
      metricsRegistry: core.metricsRegistry,
      demoCredentials: core.demoCredentials,
      credentialsFile: path.join(config.dataDir, demoCredentialsFile),
      ...parts,
      stop: core.stop,
    };
  } catch (err) {
    await core.stop();
    throw err;
  }
}

/**
 * Starts the parts of one process by its role (`config.role`): `all` runs
 * every room; `broker`, `worker` and `api` run their share of a cluster. A
 * part a role does not run is `undefined` in the result.
 */
export function startNode(config: HubConfig, options: HubOptions = {}) {
  return start<RoleParts>(config, options, roleAssemblies[config.role]);
}

export type HubNode = Awaited<ReturnType<typeof startNode>>;

/** Every room in one process (`--role all`): the shape tests and `npm start` use. */
export function startHub(config: HubConfig, options: HubOptions = {}) {
  return start({ ...config, role: 'all' }, options, assembleAll);
}

export type Hub = Awaited<ReturnType<typeof startHub>>;
