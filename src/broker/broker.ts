import { randomUUID } from 'node:crypto';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { DeviceIdentity } from '../db/index.js';
import {
  HubError,
  deviceTopic,
  hashSecret,
  parseDeviceTopic,
  secretCost,
  verifySecret,
  type DeviceStatusMessage,
  type DeviceTopicKind,
} from '../domain/index.js';
import {
  isServiceUsername,
  maySubscribe,
  publishKindFor,
  serviceMayPublish,
  serviceMaySubscribe,
  willAllowed,
} from './acl.js';
import {
  createAuthThrottle,
  createRateLimiter,
  createVerifiedCache,
  defaultAuthThrottle,
  type AuthThrottleOptions,
} from './limits.js';
import { startListeners, type Protocol } from './listeners.js';
import { createBrokerMetrics, type BytesSoFar } from './metrics.js';
import { createStatusTracker, type StatusSink } from './status.js';
import { createStores, type StoreOptions } from './stores.js';

/** The broker's view of the device registry; the hub keeps it current (no restart). */
export interface DeviceDirectory {
  get(id: string): DeviceIdentity | undefined;
  set(id: string, device: DeviceIdentity): unknown;
}

/**
 * Receives every authorised publish of a device. `ack` completes the
 * publish: for QoS 1 the broker sends PUBACK only after it is called, so the
 * handler can hold it until the reading is durable (issue #3). Call it once;
 * an error closes the device's connection.
 */
export type PublishHandler = (
  device: DeviceIdentity,
  kind: DeviceTopicKind,
  topic: string,
  payload: Buffer,
  ack: (err?: Error | null) => void,
) => void;

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
  /** A payload the broker refused as too large (the hub dead-letters it: never a silent drop). */
  readonly onOversize?: (device: DeviceIdentity, topic: string, payload: Buffer) => void;
  /** A device's publish on its own `commands/ack` topic (the command service). */
  readonly onCommandAck?: (device: DeviceIdentity, payload: Buffer) => void;
}

// MQTT 3.1.1 CONNACK return codes [MQTT-3.2.2.3].
const serverUnavailable = 3;
const badCredentials = 4;
const notAuthorised = 5;

/** Drops per minute after which a device is reported as abusing its rate. */
const abuseDropsPerMinute = 100;
/** Internal control channel between broker nodes; no client may subscribe to `$` topics. */
const controlTopic = '$HUB/control/directory';
/** Where a rate-limited publish goes: nowhere (no client can subscribe to `$` topics). */
const droppedTopic = '$HUB/dropped';

const maxConnectionsOption = (options: BrokerOptions) =>
  options.maxConnections ?? Number.MAX_SAFE_INTEGER;

function authError(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

interface MessageEmitter {
  on(
    topic: string,
    listener: (packet: { payload: Buffer | string }, cb: () => void) => void,
    done: () => void,
  ): void;
  emit(packet: { topic: string; payload: string }, done: () => void): void;
}

interface ConnInfo {
  readonly protocol: Protocol;
  readonly address: string;
}

/**
 * The broker room: Aedes behind TCP, TLS and WebSocket listeners, with device
 * authentication (username = device id, password = secret), service
 * accounts, a topic ACL, limits, online status and metrics. Authorised
 * telemetry goes to `onPublish` synchronously; semantics are the ingest room's.
 */
export async function createBroker(
  directory: DeviceDirectory,
  onPublish: PublishHandler,
  options: BrokerOptions,
  logger: Logger,
) {
  const nodeId = options.nodeId ?? randomUUID();
  const counters = {
    connections: 0,
    authFailures: 0,
    aclDenials: 0,
    oversize: 0,
    rateLimited: 0,
    throttledConnects: 0,
    protocolRefusals: 0,
    cachedAuths: 0,
  };
  const deviceOf = new WeakMap<Client, DeviceIdentity>();
  const services = new WeakSet<Client>();
  const connInfo = new WeakMap<Duplex, ConnInfo>();
  const badWill = new WeakSet<Client>();
  const clientsOf = new Map<string, Set<Client>>();
  const dropsThisMinute = new Map<string, number>();
  const sockets = new Set<net.Socket>();
  const closedBytes: BytesSoFar = { in: 0, out: 0 };
  const verified = createVerifiedCache(Math.min(maxConnectionsOption(options), 1_000_000));
  const limiter = createRateLimiter(options.ratePerS ?? 10, options.rateBurst ?? 100);
  const throttle = createAuthThrottle(options.authThrottle ?? defaultAuthThrottle);
  const maxConnections = maxConnectionsOption(options);
  const servicePasswordHash = options.servicePassword
    ? await hashSecret(options.servicePassword, secretCost.device)
    : null;
  const status = createStatusTracker(
    options.statusSink ?? (async () => {}),
    { flushIntervalMs: options.statusFlushIntervalMs ?? 1000, nodeId },
    logger,
  );
  const registry = options.registry ?? new Registry();
  const stores = createStores(options.stores ?? { kind: 'memory' });
  const aedes = await Aedes.createBroker({
    id: nodeId,
    heartbeatInterval: 60_000,
    persistence: stores.persistence,
    mq: stores.mq,
    // A subscriber that stops reading must not stall every other delivery.
    drainTimeout: 30_000,
  });
  // Aedes' emitter (mqemitter or mqemitter-redis); untyped in aedes' declarations.
  const mq = (aedes as unknown as { mq: MessageEmitter }).mq;
  const metrics = createBrokerMetrics(registry, {
    connections: () => aedes.connectedClients,
    devicesOnline: () => status.onlineCount(),
    bytes: () => {
      const b = { ...closedBytes };
      for (const s of sockets) {
        b.in += s.bytesRead;
        b.out += s.bytesWritten;
      }
      return b;
    },
  });
  const abuseTimer = setInterval(() => dropsThisMinute.clear(), 60_000);
  abuseTimer.unref();

  const infoOf = (client: Client): ConnInfo =>
    connInfo.get(client.conn as unknown as Duplex) ?? { protocol: 'mqtt', address: '' };

  aedes.preConnect = (client, packet, done) => {
    // Aedes answers any protocol but 3.1/3.1.1 with CONNACK 0x01 itself [MQTT-3.1.2-2];
    // it is counted here so an operator sees MQTT 5 devices knocking.
    if (packet.protocolVersion !== 3 && packet.protocolVersion !== 4) {
      counters.protocolRefusals++;
      metrics.authFailures.inc({ reason: 'protocol_version' });
      logger.warn(
        { address: infoOf(client).address, version: packet.protocolVersion },
        'MQTT version refused (the hub speaks 3.1.1)',
      );
    }
    if (packet.will && !willAllowed(packet.username, packet.will.topic)) badWill.add(client);
    done(null, true);
  };

  aedes.authenticate = (client, username, password, done) => {
    const { address } = infoOf(client);
    const secret = password?.toString('utf8') ?? '';
    const refuse = (code: number, why: string, reason: string) => {
      counters.authFailures++;
      metrics.authFailures.inc({ reason });
      const failures = throttle.failed(address);
      logger.warn({ clientId: client.id, username, address, why, failures }, 'client refused');
      done(authError(code, why), false);
    };
    const decide = () => {
      if (client.closed) return;
      if (aedes.connectedClients >= maxConnections) {
        counters.authFailures++;
        metrics.authFailures.inc({ reason: 'max_connections' });
        logger.warn({ max: maxConnections }, 'HUB_ERR_MQTT_TOO_MANY_CONNECTIONS');
        return done(authError(serverUnavailable, 'too many connections'), false);
      }
      if (badWill.has(client)) {
        return refuse(notAuthorised, 'last will outside own status topic', 'will_forbidden');
      }
      const accept = (ok: boolean, onOk: () => void, onBad: () => void) => {
        if (!ok) return onBad();
        throttle.succeeded(address);
        onOk();
        done(null, true);
      };
      if (isServiceUsername(username)) {
        if (!servicePasswordHash)
          return refuse(badCredentials, 'no service accounts', 'bad_credentials');
        return void verifySecret(secret, servicePasswordHash).then((ok) =>
          accept(
            ok,
            () => services.add(client),
            () => refuse(badCredentials, 'wrong service password', 'bad_credentials'),
          ),
        );
      }
      const device = username ? directory.get(username) : undefined;
      if (!device)
        return refuse(badCredentials, 'unknown device or wrong secret', 'bad_credentials');
      if (!device.enabled) return refuse(notAuthorised, 'device disabled', 'disabled');
      if (verified.matches(device, secret)) {
        counters.cachedAuths++;
        return accept(
          true,
          () => deviceOf.set(client, device),
          () => {},
        );
      }
      verifySecret(secret, device.secretHash).then(
        (ok) =>
          accept(
            ok,
            () => {
              verified.remember(device, secret);
              deviceOf.set(client, device);
            },
            () => refuse(badCredentials, 'unknown device or wrong secret', 'bad_credentials'),
          ),
        (err: unknown) => {
          logger.error({ err }, 'secret verification failed');
          refuse(notAuthorised, 'verification error', 'error');
        },
      );
    };
    const delay = throttle.delayFor(address);
    if (delay > 0) {
      // Slow an address that keeps failing: its CONNACK waits [#6].
      counters.throttledConnects++;
      setTimeout(decide, delay).unref();
    } else {
      decide();
    }
  };

  const deny = (action: 'publish' | 'subscribe') => {
    counters.aclDenials++;
    metrics.aclDenials.inc({ action });
  };

  aedes.authorizePublish = (client, packet, done) => {
    if (!client) {
      // An obsolete last will of a client of a node that went away; validated at its CONNECT.
      return done(
        parseDeviceTopic(packet.topic)?.kind === 'status'
          ? null
          : new HubError('HUB_ERR_TOPIC_FORBIDDEN', packet.topic),
      );
    }
    if (services.has(client)) {
      if (!serviceMayPublish(packet.topic)) {
        deny('publish');
        return done(new HubError('HUB_ERR_TOPIC_FORBIDDEN', packet.topic));
      }
      metrics.messagesIn.inc();
      return done(null);
    }
    const device = deviceOf.get(client);
    const kind = device ? publishKindFor(device.id, packet.topic) : null;
    if (!device || !kind) {
      deny('publish');
      logger.warn(
        { deviceId: device?.id, topic: packet.topic },
        'publish outside own topics refused',
      );
      // An error closes the connection [MQTT-3.3.5-2]: a device that breaks its ACL is misconfigured.
      return done(new HubError('HUB_ERR_TOPIC_FORBIDDEN', packet.topic));
    }
    const payload = packet.payload as Buffer;
    if (payload.length > options.maxPayloadBytes) {
      counters.oversize++;
      metrics.drops.inc({ reason: 'payload_too_large' });
      logger.warn({ deviceId: device.id, bytes: payload.length }, 'HUB_ERR_PAYLOAD_TOO_LARGE');
      options.onOversize?.(device, packet.topic, payload);
      // MQTT 3.1.1 has no reason code for it: close, as for any bad packet.
      return done(new HubError('HUB_ERR_PAYLOAD_TOO_LARGE', `${payload.length} bytes`));
    }
    status.seen(device.id);
    if (kind !== 'status' && !limiter.take(device.id)) {
      counters.rateLimited++;
      metrics.drops.inc({ reason: 'rate_limited' });
      const drops = (dropsThisMinute.get(device.id) ?? 0) + 1;
      dropsThisMinute.set(device.id, drops);
      if (drops === abuseDropsPerMinute) {
        logger.warn(
          { deviceId: device.id, code: 'HUB_ERR_MQTT_RATE_LIMITED', drops },
          'device keeps publishing over its rate; excess dropped',
        );
      }
      // Acknowledged and discarded: no subscriber, not ingested.
      packet.topic = droppedTopic;
      packet.retain = false;
      packet.payload = Buffer.alloc(0);
      return done(null);
    }
    metrics.messagesIn.inc();
    if (kind === 'commands/ack') options.onCommandAck?.(device, payload);
    onPublish(device, kind, packet.topic, payload, done);
  };

  aedes.authorizeSubscribe = (client, sub, done) => {
    const device = deviceOf.get(client);
    const ok = services.has(client)
      ? serviceMaySubscribe(sub.topic)
      : device !== undefined && maySubscribe(device.id, sub.topic);
    if (!ok) {
      deny('subscribe');
      logger.warn({ deviceId: device?.id, topic: sub.topic }, 'subscription refused');
      // Negate the subscription: SUBACK carries 0x80 for it [MQTT-3.9.3].
      return done(null, null);
    }
    done(null, sub);
  };

  aedes.authorizeForward = (_client, packet) => {
    metrics.messagesOut.inc();
    return packet;
  };

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
  const publishStatus = (deviceId: string, online: boolean) => {
    const message: DeviceStatusMessage = { online, ts: Date.now() };
    publish(deviceTopic(deviceId, 'status'), JSON.stringify(message), 1, true).catch(
      (err: unknown) => logger.debug({ err, deviceId }, 'status not published'),
    );
  };

  aedes.on('client', (client) => {
    counters.connections++;
    const info = infoOf(client);
    metrics.connects.inc({ protocol: info.protocol });
    const device = deviceOf.get(client);
    if (!device) return;
    let set = clientsOf.get(device.id);
    if (!set) clientsOf.set(device.id, (set = new Set()));
    set.add(client);
    status.connected(device.id, info.address, info.protocol);
    publishStatus(device.id, true);
  });
  aedes.on('clientDisconnect', (client) => {
    const device = deviceOf.get(client);
    if (!device) return;
    const set = clientsOf.get(device.id);
    set?.delete(client);
    if (set?.size === 0) clientsOf.delete(device.id);
    if (status.disconnected(device.id) && !aedes.closed) publishStatus(device.id, false);
  });
  aedes.on('clientError', (client, err) =>
    logger.debug({ clientId: client.id, err: err.message }, 'client error'),
  );
  aedes.on('connectionError', (client, err) =>
    logger.debug({ clientId: client?.id, err: err.message }, 'connection error'),
  );

  /** Applies a registry change on this node: directory entry, and drops sessions it ends. */
  function applyLocally(device: DeviceIdentity): void {
    const before = directory.get(device.id);
    directory.set(device.id, device);
    const ends =
      !device.enabled || (before !== undefined && before.secretHash !== device.secretHash);
    if (!ends) return;
    for (const client of clientsOf.get(device.id) ?? []) {
      logger.info({ deviceId: device.id }, 'closing the session of a disabled or re-keyed device');
      client.close();
    }
  }
  // Every node hears registry changes, so a device is disconnected wherever it is connected.
  await new Promise<void>((resolve) =>
    mq.on(
      controlTopic,
      (packet: { payload: Buffer | string }, cb: () => void) => {
        try {
          applyLocally(JSON.parse(packet.payload.toString()) as DeviceIdentity);
        } catch (err) {
          logger.warn({ err }, 'bad directory control message');
        }
        cb();
      },
      () => resolve(),
    ),
  );

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
        connInfo.set(stream, { protocol, address });
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
    isOnline: (deviceId: string) => status.isOnline(deviceId),
    onlineCount: () => status.onlineCount(),
    /** Publishes through the broker; in a cluster any node's subscriber receives it. */
    publish,
    /** A registry change, applied on every node (disable/re-key disconnects the device). */
    applyDevice(device: DeviceIdentity): Promise<void> {
      applyLocally(device);
      return new Promise<void>((resolve) =>
        mq.emit({ topic: controlTopic, payload: JSON.stringify(device) }, () => resolve()),
      );
    },
    flushStatus: () => status.flush(),
    async close(): Promise<void> {
      clearInterval(abuseTimer);
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await listeners.close();
      await status.stop();
      await destroyPersistence();
    },
  };
}

export type Broker = Awaited<ReturnType<typeof createBroker>>;
