import { randomUUID } from 'node:crypto';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { Aedes, type Client } from 'aedes';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { DeviceIdentity } from '../db/index.js';
import { installAuth } from './auth.js';
import { installAuthorize, type PublishHandler } from './authorize.js';
import type { BrokerContext, BrokerCounters, ConnInfo } from './context.js';
import { infoOf } from './context.js';
import { replicateDirectory, type DeviceDirectory, type MessageEmitter } from './directory.js';
import type { AuthThrottleOptions } from './limits.js';
import { startListeners } from './listeners.js';
import { createBrokerMetrics, type BytesSoFar } from './metrics.js';
import { createPresence, installPresence } from './presence.js';
import { createSessions } from './sessions.js';
import type { StatusSink } from './status.js';
import { createStores, type StoreOptions } from './stores.js';

export type { DeviceDirectory } from './directory.js';
export type { PublishHandler } from './authorize.js';

export interface BrokerOptions {
  readonly host: string;
  /** MQTT over TCP; 0 picks a free port. */
  readonly port: number;
  /** False: no TCP listener. Default true. */
  readonly tcpEnabled?: boolean;
  readonly tls?: { readonly port: number; readonly certFile: string; readonly keyFile: string };
  readonly wsPort?: number;
  readonly maxPayloadBytes: number;
  readonly maxConnections?: number;
  readonly ratePerS?: number;
  readonly rateBurst?: number;
  /** A device held over its rate without a break for longer is cut off (MQTT_RATE_HOLD_MAX_S). */
  readonly rateHoldMaxMs?: number;
  /** Password of the `service:<component>` accounts; none when empty. */
  readonly servicePassword?: string;
  /** Default: memory. */
  readonly stores?: StoreOptions;
  /** Unique per node of a cluster. */
  readonly nodeId?: string;
  readonly statusSink?: StatusSink;
  readonly statusFlushIntervalMs?: number;
  /** Shared Prometheus registry; a private one when absent. */
  readonly registry?: Registry;
  readonly authThrottle?: AuthThrottleOptions;
  /** A device's legacy secret hash was verified; store `device.secretHash` where `before` still is. */
  readonly onSecretUpgrade?: (device: DeviceIdentity, before: string) => void;
  /** A payload the broker refused as too large (the hub dead-letters it: never a silent drop). */
  readonly onOversize?: (device: DeviceIdentity, topic: string, payload: Buffer) => void;
  /** A device's publish on its own `commands/ack` topic (the command service). */
  readonly onCommandAck?: (device: DeviceIdentity, payload: Buffer) => void;
  /** Each minute's publishes over the rate per device, held or refused (the rate-abuse alarm). */
  readonly onDrops?: (drops: ReadonlyMap<string, number>, windowStartMs: number) => void;
  /** The window of `onDrops`; 60 s unless a test shortens it. */
  readonly dropWindowMs?: number;
}

/**
 * The broker room: Aedes behind TCP, TLS and WebSocket listeners. This file
 * assembles the parts: `auth.ts` (who may connect), `authorize.ts` (what a
 * client may publish and subscribe, limits), `presence.ts` (who is online),
 * `sessions.ts` (each device's connections), `directory.ts` (the device cache
 * of every node). Authorised telemetry goes to `onPublish` synchronously;
 * semantics are the ingest room's.
 */
export async function createBroker(
  directory: DeviceDirectory,
  onPublish: PublishHandler,
  options: BrokerOptions,
  logger: Logger,
) {
  const nodeId = options.nodeId ?? randomUUID();
  const sockets = new Set<net.Socket>();
  const closedBytes: BytesSoFar = { in: 0, out: 0 };
  const presence = createPresence(
    { sink: options.statusSink, flushIntervalMs: options.statusFlushIntervalMs, nodeId },
    logger,
  );
  const registry = options.registry ?? new Registry();
  const stores = createStores(
    options.stores ?? { kind: 'memory' },
    (err) => logger.warn({ err }, 'retained messages not read for a subscription'),
    (err) => logger.warn({ err }, 'cluster fan-out over Redis failed'),
  );
  const aedes = await Aedes.createBroker({
    id: nodeId,
    heartbeatInterval: 60_000,
    persistence: stores.persistence,
    mq: stores.mq,
    // A subscriber that stops reading must not stall every other delivery.
    drainTimeout: 30_000,
  });
  const counters: BrokerCounters = {
    get connections() {
      return aedes.connectedClients;
    },
    connects: 0,
    authFailures: 0,
    aclDenials: 0,
    oversize: 0,
    rateLimited: 0,
    rateCutOffs: 0,
    throttledConnects: 0,
    protocolRefusals: 0,
    secretUpgrades: 0,
    suppressedWarnings: 0,
  };
  const mq = (aedes as unknown as { mq: MessageEmitter }).mq;
  const metrics = createBrokerMetrics(registry, {
    connections: () => aedes.connectedClients,
    devicesOnline: () => presence.onlineCount(),
    bytes: () => {
      const b = { ...closedBytes };
      for (const s of sockets) {
        b.in += s.bytesRead;
        b.out += s.bytesWritten;
      }
      return b;
    },
  });
  const ctx: BrokerContext = {
    aedes,
    logger,
    metrics,
    counters,
    deviceOf: new WeakMap<Client, DeviceIdentity>(),
    services: new WeakSet<Client>(),
    connInfo: new WeakMap<Duplex, ConnInfo>(),
  };

  await installAuth(ctx, directory, {
    maxConnections: options.maxConnections ?? Number.MAX_SAFE_INTEGER,
    servicePassword: options.servicePassword,
    authThrottle: options.authThrottle,
    onSecretUpgrade: options.onSecretUpgrade,
  });
  const stopAuthorize = installAuthorize(ctx, onPublish, {
    maxPayloadBytes: options.maxPayloadBytes,
    ratePerS: options.ratePerS,
    rateBurst: options.rateBurst,
    rateHoldMaxMs: options.rateHoldMaxMs,
    onOversize: options.onOversize,
    onCommandAck: options.onCommandAck,
    onSeen: (deviceId) => presence.seen(deviceId),
    onDrops: options.onDrops,
    dropWindowMs: options.dropWindowMs,
  });

  const publish = (topic: string, payload: string, qos: 0 | 1, retain = false) =>
    new Promise<void>((resolve, reject) =>
      aedes.publish(
        {
          cmd: 'publish',
          topic,
          payload: Buffer.from(payload),
          qos,
          retain,
          dup: false,
        },
        (err?: Error) => (err ? reject(err) : resolve()),
      ),
    );

  aedes.on('client', (client) => {
    counters.connects++;
    metrics.connects.inc({ protocol: infoOf(ctx, client).protocol });
  });
  const sessions = createSessions(ctx);
  installPresence(ctx, presence, publish);
  aedes.on('clientError', (client, err) =>
    logger.debug({ clientId: client.id, err: err.message }, 'client error'),
  );
  aedes.on('connectionError', (client, err) =>
    logger.debug({ clientId: client?.id, err: err.message }, 'connection error'),
  );
  const replicated = await replicateDirectory(directory, sessions, mq, logger);

  let listeners;
  try {
    listeners = await startListeners(
      {
        host: options.host,
        tcpPort: options.tcpEnabled === false ? null : options.port,
        ...(options.tls ? { tls: options.tls } : {}),
        ...(options.wsPort !== undefined ? { wsPort: options.wsPort } : {}),
      },
      (stream, protocol, address, socket) => {
        ctx.connInfo.set(stream, { protocol, address });
        sockets.add(socket);
        socket.once('close', () => {
          sockets.delete(socket);
          closedBytes.in += socket.bytesRead;
          closedBytes.out += socket.bytesWritten;
        });
        aedes.handle(stream as net.Socket);
      },
    );
  } catch (err) {
    stopAuthorize();
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await destroyPersistence();
    throw err;
  }
  logger.info(
    { host: options.host, ...listeners.ports, stores: stores.description },
    'MQTT listening',
  );

  async function destroyPersistence(): Promise<void> {
    const p = stores.persistence as { destroy?: () => Promise<void> } | undefined;
    await p?.destroy?.().catch((err: unknown) => logger.warn({ err }, 'MQTT store not closed'));
  }

  return {
    aedes,
    nodeId,
    /** Port of the TCP listener (0 when it is off). */
    port: listeners.ports.mqtt ?? 0,
    ports: listeners.ports,
    counters,
    metrics,
    registry,
    isOnline: (deviceId: string) => presence.isOnline(deviceId),
    onlineCount: () => presence.onlineCount(),
    /** Publishes through the broker; in a cluster any node's subscriber receives it. */
    publish,
    /**
     * Every message on `topic` delivered by the broker, from any node of a
     * cluster (the shared emitter); what a screen watches (issue #13). No
     * work for topics nobody taps. Returns the way to stop.
     */
    tap(topic: string, onPayload: (payload: Buffer) => void): () => void {
      const deliver = (packet: { payload: Buffer | string }, cb: () => void) => {
        try {
          onPayload(Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
        } finally {
          cb();
        }
      };
      aedes.subscribe(topic, deliver as never, () => {});
      return () => aedes.unsubscribe(topic, deliver as never, () => {});
    },
    /** A registry change, applied on every node (disable/re-key disconnects the device). */
    applyDevice: replicated.applyDevice,
    flushStatus: () => presence.flush(),
    async close(): Promise<void> {
      stopAuthorize();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await listeners.close();
      await presence.stop();
      await destroyPersistence();
    },
  };
}

export type Broker = Awaited<ReturnType<typeof createBroker>>;
