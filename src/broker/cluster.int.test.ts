import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  asDevice,
  closed,
  connectClient,
  nextMessage,
  startTestBroker,
  type TestDevice,
} from '../../test/support/broker.js';
import { machineRedisUrl, redisReachable, redisTestPrefix } from '../../test/support/redis.js';
import type { Broker } from './index.js';

const lamp: TestDevice = {
  id: 'SL-C0001',
  secret: 'lamp-secret-c001-long-enough',
  type: 'streetlight',
};
const gas: TestDevice = { id: 'GS-C0001', secret: 'gas-secret-c0001-long-enough', type: 'gas' };
const servicePassword = 'cluster-service-password';
const reachable = await redisReachable();

/**
 * Two broker nodes sharing the machine's Redis (#6): fan-out through
 * the batched emitter (cluster-emitter.ts), sessions and retained messages through
 * aedes-persistence-redis, under a key prefix of this run only.
 */
describe.skipIf(!reachable)('two broker nodes sharing Redis', () => {
  const { prefix, cleanUp } = redisTestPrefix();
  let a: Broker;
  let b: Broker;
  const clients: MqttClient[] = [];
  const track = (c: MqttClient) => (clients.push(c), c);
  const urlOf = (x: Broker) => `mqtt://127.0.0.1:${x.port}`;

  beforeAll(async () => {
    const stores = { kind: 'redis' as const, url: machineRedisUrl, keyPrefix: prefix };
    // A rate that lets the order test send its messages at once.
    const options = { stores, servicePassword, ratePerS: 10_000, rateBurst: 10_000 };
    a = (await startTestBroker([lamp, gas], { ...options, nodeId: 'node-a' })).broker;
    b = (await startTestBroker([lamp, gas], { ...options, nodeId: 'node-b' })).broker;
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.end(true);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await cleanUp();
  });

  it('delivers a command published through node A to a device connected to node B', async () => {
    const device = track(await connectClient(urlOf(b), asDevice(lamp)));
    await device.subscribeAsync(`devices/${lamp.id}/commands`, { qos: 1 });
    const got = nextMessage(device, `devices/${lamp.id}/commands`);
    await a.publish(`devices/${lamp.id}/commands`, '{"id":"via-a","name":"on"}', 1);
    expect((await got).toString()).toBe('{"id":"via-a","name":"on"}');
  });

  it('gives a retained status stored through node B to a subscriber on node A', async () => {
    const device = track(await connectClient(urlOf(b), asDevice(gas)));
    await device.publishAsync(`devices/${gas.id}/status`, '{"online":true,"node":"b"}', {
      qos: 1,
      retain: true,
    });
    const watcher = track(
      await connectClient(urlOf(a), {
        clientId: 'svc-a',
        username: 'service:rules',
        password: servicePassword,
      }),
    );
    const got = nextMessage(watcher, `devices/${gas.id}/status`);
    await watcher.subscribeAsync(`devices/${gas.id}/status`, { qos: 1 });
    expect(JSON.parse((await got).toString())).toHaveProperty('online');
  });

  it('disconnects a device on node B when it is disabled through node A', async () => {
    const device = await connectClient(urlOf(b), asDevice(lamp));
    const gone = closed(device);
    const { hashDeviceSecret } = await import('../domain/index.js');
    const identity = {
      id: lamp.id,
      type: lamp.type,
      gridCode: '430302001001001',
      secretHash: hashDeviceSecret(lamp.secret),
      enabled: false,
    };
    await a.applyDevice(identity);
    await gone;
    device.end(true);
    await expect(connectClient(urlOf(b), asDevice(lamp))).rejects.toMatchObject({ code: 5 });
    await a.applyDevice({ ...identity, enabled: true });
    // Node B hears of the re-enable through Redis a moment after A applied it.
    for (let tries = 0; ; tries++) {
      const back = await connectClient(urlOf(b), asDevice(lamp)).catch((err: unknown) => {
        if (tries >= 200) throw err;
        return undefined;
      });
      if (back) {
        track(back);
        break;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  });

  it('closes a device’s older connection on node A when it connects again to node B', async () => {
    // Aedes tells the other nodes through the emitter ($SYS/<node>/new/clients), MQTT-3.1.4-2.
    const old = await connectClient(urlOf(a), asDevice(gas));
    const gone = closed(old);
    track(await connectClient(urlOf(b), asDevice(gas)));
    await gone;
    old.end(true);
  });

  it('keeps the order of one publisher’s QoS 1 messages across nodes', async () => {
    const watcher = track(
      await connectClient(urlOf(b), {
        clientId: 'svc-order',
        username: 'service:rules',
        password: servicePassword,
      }),
    );
    const got: number[] = [];
    watcher.on('message', (_t, p) => got.push(JSON.parse(p.toString()).n as number));
    await watcher.subscribeAsync(`devices/${lamp.id}/telemetry`, { qos: 1 });
    const device = track(await connectClient(urlOf(a), asDevice(lamp)));
    const sent = Array.from({ length: 300 }, (_, n) => n);
    await Promise.all(
      sent.map((n) =>
        device.publishAsync(`devices/${lamp.id}/telemetry`, JSON.stringify({ n }), { qos: 1 }),
      ),
    );
    await expect.poll(() => got.length).toBe(sent.length);
    expect(got).toEqual(sent);
  });
});
