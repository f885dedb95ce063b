import path from 'node:path';
import type { Registry } from 'prom-client';
import type { BrokerOptions, StoreOptions } from '../broker/index.js';
import type { DeviceStatusRecord } from '../db/index.js';
import type { HubConfig } from './config.js';

/** Where sessions, queued and retained messages live: Redis in a cluster, else LevelDB or memory. */
export function brokerStores(config: HubConfig): StoreOptions {
  return config.redisUrl
    ? { kind: 'redis', url: config.redisUrl, keyPrefix: config.redisKeyPrefix }
    : config.mqttPersistence === 'level'
      ? { kind: 'level', dir: path.join(config.dataDir, 'mqtt') }
      : { kind: 'memory' };
}

/** The broker's options from the hub's configuration, and the hooks into the other rooms. */
export function brokerOptions(
  config: HubConfig,
  hooks: {
    nodeId: string;
    registry: Registry;
    statusSink: (records: readonly DeviceStatusRecord[]) => Promise<void>;
    onCommandAck: NonNullable<BrokerOptions['onCommandAck']>;
    onOversize: NonNullable<BrokerOptions['onOversize']>;
    onSecretUpgrade?: BrokerOptions['onSecretUpgrade'];
    onDrops?: BrokerOptions['onDrops'];
    dropWindowMs?: number;
  },
): BrokerOptions {
  return {
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
    rateHoldMaxMs: config.mqttRateHoldMaxS * 1000,
    servicePassword: config.mqttServicePassword,
    stores: brokerStores(config),
    nodeId: hooks.nodeId,
    statusSink: hooks.statusSink,
    statusFlushIntervalMs: config.statusFlushIntervalMs,
    registry: hooks.registry,
    onCommandAck: hooks.onCommandAck,
    onOversize: hooks.onOversize,
    onSecretUpgrade: hooks.onSecretUpgrade,
    onDrops: hooks.onDrops,
    dropWindowMs: hooks.dropWindowMs,
  };
}
