import path from 'node:path';
import { createBroker, createCommandService, type CommandService } from '../broker/index.js';
import { tightenTree, upsertDeviceStatuses } from '../db/index.js';
import type { Ingest } from '../ingest/index.js';
import { createRateAbuseWatch, rateAbuseRuleId } from '../rules/index.js';
import { brokerOptions } from './broker-options.js';
import type { Core } from './core.js';
import type { RulesRuntime } from './rules-runtime.js';
import { createSecretUpgrades } from './secret-upgrades.js';

export interface GatewayOptions {
  /** MQTT listeners (broker roles); an API process runs the broker without them. */
  readonly listeners: boolean;
  /** Told after device status records are stored: this node's screens read them. */
  readonly onStatusStored?: () => void;
}

/**
 * The MQTT broker and the command service of this process. Broker roles
 * listen; an API process runs a broker without listeners, so commands and
 * registry changes reach the broker nodes through the cluster's emitter.
 */
export async function startGateway(
  core: Core,
  ingest: Ingest,
  rules: RulesRuntime | undefined,
  options: GatewayOptions,
) {
  const { config, db, directory, logger, stops } = core;
  // The broker's drop counts become the all.mqtt_rate_abuse alarm where the device is connected.
  const rateAbuse =
    rules && options.listeners
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
  stops.push(() => secretUpgrades.stop());
  // The broker hands command acks to the command service, which publishes through the broker:
  // made after it, so an ack that arrives before it exists is not handled.
  const ackTo: { commands?: CommandService } = {};
  const broker = await createBroker(
    directory,
    ingest.accept,
    {
      ...brokerOptions(config, {
        nodeId: core.nodeId,
        registry: core.metricsRegistry,
        statusSink: async (records) => {
          await upsertDeviceStatuses(db.pool, records);
          options.onStatusStored?.();
        },
        onCommandAck: (device, payload) => ackTo.commands?.handleAck(device, payload),
        onSecretUpgrade: (device, before) => secretUpgrades.add(device, before),
        ...(rateAbuse
          ? {
              onDrops: (drops, at) => rateAbuse.minute(drops, at),
              dropWindowMs: core.options.rateWindowMs,
            }
          : {}),
        onOversize: (device, topic, payload) =>
          ingest.deadLetter(
            device.id,
            topic,
            'HUB_ERR_PAYLOAD_TOO_LARGE',
            `${payload.length} bytes refused by the broker (limit ${config.ingestMaxPayloadBytes})`,
            payload,
          ),
      }),
      ...(options.listeners ? {} : { tcpEnabled: false, tls: undefined, wsPort: undefined }),
    },
    logger.child({ room: 'broker' }),
  );
  stops.push(() => broker.close());
  // The MQTT store's files as LevelDB created them (0644 under the usual umask): closed too.
  if (config.mqttPersistence === 'level' && !config.redisUrl)
    await tightenTree(path.join(config.dataDir, 'mqtt'));
  const commands = createCommandService(
    db.pool,
    (topic, payload, qos) => broker.publish(topic, payload, qos),
    { timeoutMs: config.commandTimeoutMs },
    logger.child({ room: 'broker' }),
  );
  ackTo.commands = commands;
  stops.push(() => commands.stop());
  return { broker, commands, mqttPort: options.listeners ? broker.port : 0 };
}

export type Gateway = Awaited<ReturnType<typeof startGateway>>;
