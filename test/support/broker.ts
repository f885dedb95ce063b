import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import pino from 'pino';
import { createBroker, type Broker, type BrokerOptions } from '../../src/broker/index.js';
import type { DeviceIdentity } from '../../src/db/index.js';
import {
  hashDeviceSecret,
  hashSecret,
  secretCost,
  type DeviceTopicKind,
  type FacilityType,
} from '../../src/domain/index.js';

export interface TestDevice {
  readonly id: string;
  readonly secret: string;
  readonly type: FacilityType;
  /** Stored as an earlier version stored device secrets (scrypt), to test the upgrade. */
  readonly legacyHash?: boolean;
}

/** The stored hash of a test device's secret. */
export const testSecretHash = (d: TestDevice): Promise<string> | string =>
  d.legacyHash ? hashSecret(d.secret, secretCost.device) : hashDeviceSecret(d.secret);

export interface Received {
  readonly deviceId: string;
  readonly kind: DeviceTopicKind;
  readonly topic: string;
  readonly payload: string;
}

/** A broker on its own, with an in-memory directory and a recording publish handler that acks. */
export async function startTestBroker(
  devices: readonly TestDevice[],
  options: Partial<BrokerOptions> = {},
  logger: pino.Logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
): Promise<{ broker: Broker; received: Received[]; directory: Map<string, DeviceIdentity> }> {
  const directory = new Map<string, DeviceIdentity>();
  for (const d of devices) {
    directory.set(d.id, {
      id: d.id,
      type: d.type,
      gridCode: '430302001001001',
      secretHash: await testSecretHash(d),
      enabled: true,
    });
  }
  const received: Received[] = [];
  const broker = await createBroker(
    directory,
    (device, kind, topic, payload, ack) => {
      received.push({ deviceId: device.id, kind, topic, payload: payload.toString() });
      ack(null);
    },
    { host: '127.0.0.1', port: 0, maxPayloadBytes: 65536, ...options },
    logger,
  );
  return { broker, received, directory };
}

/** Connects with mqtt.js (MQTT 3.1.1, no reconnect); rejects with the CONNACK error. */
export function connectClient(url: string, options: IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      ...options,
    });
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

export const asDevice = (d: TestDevice, extra: IClientOptions = {}): IClientOptions => ({
  clientId: d.id,
  username: d.id,
  password: d.secret,
  ...extra,
});

/** Resolves with the next message on `topic`, or rejects after `ms`. */
export function nextMessage(client: MqttClient, topic: string, ms = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`no message on ${topic}`));
    }, ms);
    const onMessage = (t: string, payload: Buffer) => {
      if (t !== topic) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve(payload);
    };
    client.on('message', onMessage);
  });
}

/** Resolves when the client's connection closes. */
export const closed = (client: MqttClient) =>
  new Promise<void>((resolve) =>
    client.connected || client.reconnecting ? client.once('close', () => resolve()) : resolve(),
  );

/** SUBACK return codes for `topics` (128 = refused; mqtt.js rejects on it, so read the packet). */
export async function subackCodes(
  client: MqttClient,
  topics: string | string[],
): Promise<number[]> {
  try {
    const granted = await client.subscribeAsync(topics, { qos: 1 });
    return granted.map((g) => g.qos);
  } catch (err) {
    const packet = (err as { packet?: { granted?: (number | { qos: number })[] } }).packet;
    if (!packet?.granted) throw err;
    return packet.granted.map((g) => (typeof g === 'number' ? g : g.qos));
  }
}
