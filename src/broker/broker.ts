import net from 'node:net';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from 'pino';
import type { DeviceIdentity } from '../db/index.js';
import { HubError, verifySecret, type DeviceTopicKind } from '../domain/index.js';
import { maySubscribe, publishKindFor } from './acl.js';

export interface DeviceDirectory {
  get(id: string): DeviceIdentity | undefined;
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
  readonly port: number;
  readonly maxPayloadBytes: number;
}

const deviceOf = new WeakMap<Client, DeviceIdentity>();

// MQTT 3.1.1 CONNACK return codes [MQTT-3.2.2.3].
const badCredentials = 4;
const notAuthorised = 5;

function authError(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/**
 * The broker room: Aedes with device authentication (username = device id,
 * password = secret) and a topic ACL. Authorised telemetry goes to `onPublish`
 * synchronously; semantics are the ingest room's.
 */
export async function createBroker(
  directory: DeviceDirectory,
  onPublish: PublishHandler,
  options: BrokerOptions,
  logger: Logger,
) {
  const counters = { connections: 0, authFailures: 0, aclDenials: 0, oversize: 0 };
  const online = new Set<string>();
  const aedes = await Aedes.createBroker({ heartbeatInterval: 60_000 });

  aedes.authenticate = (client, username, password, done) => {
    const device = username ? directory.get(username) : undefined;
    const secret = password?.toString('utf8') ?? '';
    const refuse = (code: number, why: string) => {
      counters.authFailures++;
      logger.warn({ clientId: client.id, username, why }, 'device refused');
      done(authError(code, why), false);
    };
    if (!device) return refuse(badCredentials, 'unknown device or wrong secret');
    if (!device.enabled) return refuse(notAuthorised, 'device disabled');
    verifySecret(secret, device.secretHash).then(
      (ok) => {
        if (!ok) return refuse(badCredentials, 'unknown device or wrong secret');
        deviceOf.set(client, device);
        done(null, true);
      },
      (err: unknown) => {
        logger.error({ err }, 'secret verification failed');
        refuse(notAuthorised, 'verification error');
      },
    );
  };

  aedes.authorizePublish = (client, packet, done) => {
    const device = client ? deviceOf.get(client) : undefined;
    const kind = device ? publishKindFor(device.id, packet.topic) : null;
    if (!device || !kind) {
      counters.aclDenials++;
      logger.warn(
        { deviceId: device?.id, topic: packet.topic },
        'publish outside own topics refused',
      );
      // An error closes the connection [MQTT-3.3.5-2]: a device that breaks its ACL is misconfigured.
      return done(new HubError('HUB_ERR_TOPIC_FORBIDDEN', packet.topic));
    }
    onPublish(device, kind, packet.topic, packet.payload as Buffer, done);
  };

  aedes.authorizeSubscribe = (client, sub, done) => {
    const device = deviceOf.get(client);
    if (!device || !maySubscribe(device.id, sub.topic)) {
      counters.aclDenials++;
      logger.warn({ deviceId: device?.id, topic: sub.topic }, 'subscription refused');
      // Negate the subscription: SUBACK carries 0x80 for it [MQTT-3.9.3].
      return done(null, null);
    }
    done(null, sub);
  };

  aedes.on('client', (client) => {
    counters.connections++;
    const device = deviceOf.get(client);
    if (device) online.add(device.id);
  });
  aedes.on('clientDisconnect', (client) => {
    const device = deviceOf.get(client);
    if (device) online.delete(device.id);
  });
  aedes.on('clientError', (client, err) =>
    logger.debug({ clientId: client.id, err: err.message }, 'client error'),
  );
  aedes.on('connectionError', (client, err) =>
    logger.debug({ clientId: client?.id, err: err.message }, 'connection error'),
  );

  const server = net.createServer(aedes.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      aedes.close();
      reject(
        err.code === 'EADDRINUSE'
          ? new HubError(
              'HUB_ERR_PORT_IN_USE',
              `MQTT ${options.host}:${options.port} is taken; set MQTT_PORT to a free port`,
            )
          : err,
      );
    });
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  logger.info({ host: options.host, port }, 'MQTT listening');

  return {
    aedes,
    port,
    counters,
    isOnline: (deviceId: string) => online.has(deviceId),
    onlineCount: () => online.size,
    async close(): Promise<void> {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type Broker = Awaited<ReturnType<typeof createBroker>>;
