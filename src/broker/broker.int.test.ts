import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  asDevice,
  closed,
  connectClient,
  nextMessage,
  startTestBroker,
  subackCodes,
  type Received,
  type TestDevice,
} from '../../test/support/broker.js';
import { waitFor } from '../../test/support/hub.js';
import { selfSignedPair } from '../../test/support/tls.js';
import { hashDeviceSecret } from '../domain/index.js';
import type { Broker } from './index.js';

const lamp: TestDevice = {
  id: 'SL-T0001',
  secret: 'lamp-secret-0001-long-enough',
  type: 'streetlight',
};
const pump: TestDevice = {
  id: 'PS-T0001',
  secret: 'pump-secret-0001-long-enough',
  type: 'pump_station',
};
const gas: TestDevice = { id: 'GS-T0001', secret: 'gas-secret-00001-long-enough', type: 'gas' };
const servicePassword = 'service-password-for-tests';

describe('the broker with mqtt.js clients', () => {
  let broker: Broker;
  let received: Received[];
  let url: string;
  const clients: MqttClient[] = [];
  const track = (c: MqttClient) => (clients.push(c), c);

  beforeAll(async () => {
    ({ broker, received } = await startTestBroker([lamp, pump, gas], {
      servicePassword,
      ratePerS: 1,
      rateBurst: 5,
      maxPayloadBytes: 1024,
    }));
    url = `mqtt://127.0.0.1:${broker.port}`;
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.end(true);
  });
  afterAll(async () => {
    await broker?.close();
  });

  const service = (name = 'service:rules') =>
    connectClient(url, {
      clientId: `${name}-${Math.random()}`,
      username: name,
      password: servicePassword,
    });

  it('delivers a command to a device at QoS 0, 1 and 2', async () => {
    const device = track(await connectClient(url, asDevice(lamp)));
    await device.subscribeAsync(`devices/${lamp.id}/commands`, { qos: 2 });
    for (const qos of [0, 1, 2] as const) {
      const got = nextMessage(device, `devices/${lamp.id}/commands`);
      await broker.publish(
        `devices/${lamp.id}/commands`,
        JSON.stringify({ qos }),
        qos === 2 ? 1 : qos,
      );
      expect(JSON.parse((await got).toString())).toEqual({ qos });
    }
  });

  it('hands telemetry published at QoS 0, 1 and 2 to ingest, once each', async () => {
    const device = track(await connectClient(url, asDevice(pump)));
    for (const qos of [0, 1, 2] as const) {
      await device.publishAsync(
        `devices/${pump.id}/telemetry`,
        JSON.stringify({ well_level: qos }),
        { qos },
      );
    }
    const mine = await waitFor(() => {
      const r = received.filter((m) => m.deviceId === pump.id && m.kind === 'telemetry');
      return r.length >= 3 ? r : undefined;
    }, 'three readings');
    expect(mine.map((m) => JSON.parse(m.payload).well_level)).toEqual([0, 1, 2]);
  });

  it('keeps a retained status and gives it to a service account that subscribes later', async () => {
    const device = track(await connectClient(url, asDevice(gas)));
    await device.publishAsync(`devices/${gas.id}/status`, '{"online":true,"fw":"1.2"}', {
      qos: 1,
      retain: true,
    });
    const watcher = track(await service());
    const got = nextMessage(watcher, `devices/${gas.id}/status`);
    await watcher.subscribeAsync('devices/+/status', { qos: 1 });
    expect(JSON.parse((await got).toString())).toMatchObject({ online: true });
  });

  it('publishes the last will on the device status topic when the connection drops', async () => {
    const watcher = track(await service());
    await watcher.subscribeAsync(`devices/${lamp.id}/status`, { qos: 1 });
    const device = await connectClient(
      url,
      asDevice(lamp, {
        will: {
          topic: `devices/${lamp.id}/status`,
          payload: Buffer.from('{"online":false,"will":true}'),
          qos: 1,
          retain: true,
        },
      }),
    );
    const will = nextMessageMatching(watcher, `devices/${lamp.id}/status`, (p) =>
      p.includes('"will":true'),
    );
    // Drop the TCP connection without DISCONNECT.
    (device as unknown as { stream: { destroy(): void } }).stream.destroy();
    expect(JSON.parse((await will).toString())).toEqual({ online: false, will: true });
    device.end(true);
  });

  it('marks the device online and offline on its retained status topic itself', async () => {
    const watcher = track(await service());
    await watcher.subscribeAsync(`devices/${pump.id}/status`, { qos: 1 });
    const online = nextMessageMatching(watcher, `devices/${pump.id}/status`, (p) =>
      p.includes('"online":true'),
    );
    const device = await connectClient(url, asDevice(pump));
    await online;
    expect(broker.isOnline(pump.id)).toBe(true);
    const offline = nextMessageMatching(watcher, `devices/${pump.id}/status`, (p) =>
      p.includes('"online":false'),
    );
    await device.endAsync();
    await offline;
    expect(broker.isOnline(pump.id)).toBe(false);
  });

  it('refuses a last will outside the device status topic with CONNACK 5', async () => {
    for (const topic of [`devices/${pump.id}/status`, `devices/${lamp.id}/telemetry`, '$SYS/x']) {
      await expect(
        connectClient(
          url,
          asDevice(lamp, { will: { topic, payload: Buffer.from('x'), qos: 0, retain: false } }),
        ),
        topic,
      ).rejects.toMatchObject({ code: 5 });
    }
  });

  it('queues QoS 1 commands for a persistent session while the device is away', async () => {
    const first = await connectClient(url, asDevice(gas, { clean: false }));
    await first.subscribeAsync(`devices/${gas.id}/commands`, { qos: 1 });
    await first.endAsync();
    await broker.publish(`devices/${gas.id}/commands`, '{"id":"queued"}', 1);
    const again = mqtt.connect(url, {
      ...asDevice(gas, { clean: false }),
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    track(again);
    const got = await nextMessage(again, `devices/${gas.id}/commands`);
    expect(got.toString()).toBe('{"id":"queued"}');
  });

  it('forgets the subscription of a clean session', async () => {
    const first = await connectClient(url, asDevice(gas, { clean: true }));
    await first.subscribeAsync(`devices/${gas.id}/commands`, { qos: 1 });
    await first.endAsync();
    const again = track(await connectClient(url, asDevice(gas, { clean: true })));
    const got = nextMessage(again, `devices/${gas.id}/commands`, 500).then(
      () => 'delivered',
      () => 'nothing',
    );
    await broker.publish(`devices/${gas.id}/commands`, '{"id":"lost"}', 1);
    expect(await got).toBe('nothing');
  });

  it('lets a second connection with the same client id take over, and the device stays online', async () => {
    const first = await connectClient(url, asDevice(lamp));
    const firstClosed = closed(first);
    first.options.reconnectPeriod = 0;
    const second = track(await connectClient(url, asDevice(lamp)));
    await firstClosed;
    first.end(true);
    expect(second.connected).toBe(true);
    await waitFor(() => (broker.isOnline(lamp.id) ? true : undefined), 'online after takeover');
  });

  it('refuses MQTT 5 with CONNACK 0x01, unacceptable protocol version', async () => {
    const before = broker.counters.protocolRefusals;
    const err = await connectClient(url, { ...asDevice(lamp), protocolVersion: 5 }).then(
      () => null,
      (e: Error & { code?: number }) => e,
    );
    expect(err).not.toBeNull();
    // mqtt.js reads the 3.1.1-format CONNACK as reason code 1.
    expect(err?.code).toBe(1);
    expect(err?.message).toMatch(/unacceptable protocol version/i);
    expect(broker.counters.protocolRefusals).toBe(before + 1);
  });

  it('closes the connection of a device whose payload is over the limit, and counts it', async () => {
    const before = broker.counters.oversize;
    const device = await connectClient(url, asDevice(pump));
    const gone = closed(device);
    device.publish(`devices/${pump.id}/telemetry`, Buffer.alloc(2048, 0x20), { qos: 1 });
    await gone;
    device.end(true);
    expect(broker.counters.oversize).toBe(before + 1);
    expect(received.some((m) => m.payload.length === 2048)).toBe(false);
  });

  it('holds publishes over the device rate until it has tokens: all delivered, none dropped, still connected', async () => {
    const device = track(await connectClient(url, asDevice(gas)));
    const before = received.filter((m) => m.deviceId === gas.id && m.kind === 'telemetry').length;
    const heldBefore = broker.counters.rateLimited;
    // A bucket of 5 refilled at 1/s: 8 at once, 3 of them wait a second each.
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        device.publishAsync(`devices/${gas.id}/telemetry`, `{"ch4":${i}}`, { qos: 1 }),
      ),
    );
    expect(device.connected).toBe(true);
    const got = received.filter((m) => m.deviceId === gas.id && m.kind === 'telemetry');
    expect(got.length - before).toBe(8);
    // In order: a held publish is never overtaken.
    expect(got.slice(before).map((m) => JSON.parse(m.payload.toString()).ch4)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7,
    ]);
    expect(broker.counters.rateLimited - heldBefore).toBeGreaterThanOrEqual(3);
  });

  it('cuts off a device held over its rate for longer than the bound; what it had acknowledged was delivered', async () => {
    const strict = await startTestBroker([lamp], {
      ratePerS: 5,
      rateBurst: 1,
      rateHoldMaxMs: 1000,
    });
    try {
      const u = `mqtt://127.0.0.1:${strict.broker.port}`;
      const device = await connectClient(u, asDevice(lamp));
      device.on('error', () => {});
      const gone = closed(device);
      const acked: number[] = [];
      let i = 0;
      const flood = setInterval(() => {
        for (let n = 0; n < 5; n++) {
          const k = i++;
          device.publishAsync(`devices/${lamp.id}/telemetry`, `{"dim":${k}}`, { qos: 1 }).then(
            () => acked.push(k),
            () => {},
          );
        }
      }, 20);
      await gone;
      clearInterval(flood);
      device.end(true);
      expect(strict.broker.counters.rateCutOffs).toBe(1);
      const delivered = new Set(
        strict.received.map((m) => JSON.parse(m.payload.toString()).dim as number),
      );
      expect(acked.filter((k) => !delivered.has(k))).toEqual([]);
      expect(acked.length).toBeGreaterThan(0);
    } finally {
      await strict.broker.close();
    }
  });
});

describe('the ACL, attacked', () => {
  let broker: Broker;
  let received: Received[];
  let url: string;
  const clients: MqttClient[] = [];
  const track = (c: MqttClient) => (clients.push(c), c);

  beforeAll(async () => {
    ({ broker, received } = await startTestBroker([lamp, pump], { servicePassword }));
    url = `mqtt://127.0.0.1:${broker.port}`;
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.end(true);
  });
  afterAll(async () => {
    await broker?.close();
  });

  it.each([
    ['another device telemetry', `devices/${pump.id}/telemetry`],
    ['another device status', `devices/${pump.id}/status`],
    ['its own command topic', `devices/${lamp.id}/commands`],
    ['a topic under its own prefix that does not exist', `devices/${lamp.id}/telemetry/x`],
    ['$SYS', '$SYS/broker/uptime'],
    ['a topic outside devices/', 'city/alarms'],
  ])(
    'closes a device connection that publishes to %s, and stores nothing',
    async (_what, topic) => {
      const device = await connectClient(url, asDevice(lamp));
      const gone = closed(device);
      const before = received.length;
      device.publish(topic, '{"on":true}', { qos: 1 });
      await gone;
      device.end(true);
      expect(received.length).toBe(before);
    },
  );

  it.each([
    '#',
    'devices/#',
    'devices/+/commands',
    `devices/${pump.id}/commands`,
    `devices/${lamp.id}/telemetry`,
    `devices/${lamp.id}/#`,
    '$SYS/#',
    '$SYS/+/heartbeat',
    '$HUB/control/directory',
  ])('answers SUBACK 128 to a device subscribing to %s', async (topic) => {
    const device = track(await connectClient(url, asDevice(lamp)));
    expect(await subackCodes(device, topic)).toEqual([128]);
  });

  it('refuses a wrong secret, an unknown device and an empty password with CONNACK 4', async () => {
    for (const options of [
      asDevice({ ...lamp, secret: 'wrong' }),
      asDevice({ ...lamp, id: 'SL-NOBODY' }),
      { clientId: lamp.id, username: lamp.id },
    ]) {
      await expect(connectClient(url, options)).rejects.toMatchObject({ code: 4 });
    }
  });

  it('refuses a disabled device with CONNACK 5, and disconnects it when disabled while connected', async () => {
    const device = await connectClient(url, asDevice(pump));
    const gone = closed(device);
    const { directory } = await startTestBrokerDirectory(broker, pump.id);
    await broker.applyDevice({ ...directory, enabled: false });
    await gone;
    device.end(true);
    await expect(connectClient(url, asDevice(pump))).rejects.toMatchObject({ code: 5 });
    await broker.applyDevice({ ...directory, enabled: true });
    track(await connectClient(url, asDevice(pump)));
  });

  it('lets a service account watch devices/+/<kind> but never #, $SYS or another prefix', async () => {
    const svc = track(
      await connectClient(url, {
        clientId: 'svc-1',
        username: 'service:rules',
        password: servicePassword,
      }),
    );
    expect(await subackCodes(svc, ['devices/+/telemetry', `devices/${lamp.id}/status`])).toEqual([
      1, 1,
    ]);
    for (const topic of ['#', 'devices/#', '$SYS/#', 'devices/+/+', 'city/+', 'devices/+/secret']) {
      expect(await subackCodes(svc, topic), topic).toEqual([128]);
    }
  });

  it('closes a service account that publishes anything but a device command', async () => {
    const svc = await connectClient(url, {
      clientId: 'svc-2',
      username: 'service:rules',
      password: servicePassword,
    });
    const gone = closed(svc);
    svc.publish(`devices/${lamp.id}/telemetry`, '{"on":true}', { qos: 1 });
    await gone;
    svc.end(true);
  });

  it('refuses a service account with a wrong password, and a malformed service name', async () => {
    for (const username of ['service:rules', 'service:', 'service:../x']) {
      await expect(
        connectClient(url, {
          clientId: 'svc-x',
          username,
          password: username === 'service:rules' ? 'nope' : servicePassword,
        }),
      ).rejects.toMatchObject({ code: 4 });
    }
  });

  it('upgrades a legacy scrypt device hash on the next good CONNECT and refuses wrong secrets before and after', async () => {
    const old: TestDevice = { ...gas, id: 'GS-T0002', legacyHash: true };
    const upgrades: { id: string; hash: string; before: string }[] = [];
    const legacy = await startTestBroker([old], {
      onSecretUpgrade: (device, before) =>
        upgrades.push({ id: device.id, hash: device.secretHash, before }),
    });
    try {
      const u = `mqtt://127.0.0.1:${legacy.broker.port}`;
      const stored = legacy.directory.get(old.id)!.secretHash;
      expect(stored).toMatch(/^scrypt\$/);
      const wrong = asDevice({ ...old, secret: `${old.secret}x` });
      await expect(connectClient(u, wrong)).rejects.toMatchObject({ code: 4 });
      expect(upgrades).toEqual([]);
      (await connectClient(u, asDevice(old))).end(true);
      const upgraded = legacy.directory.get(old.id)!.secretHash;
      expect(upgraded).toBe(hashDeviceSecret(old.secret));
      expect(upgrades).toEqual([{ id: old.id, hash: upgraded, before: stored }]);
      expect(legacy.broker.counters.secretUpgrades).toBe(1);
      // The fast form lets the same secret in again, and only it.
      (await connectClient(u, asDevice(old))).end(true);
      await expect(connectClient(u, wrong)).rejects.toMatchObject({ code: 4 });
      expect(legacy.broker.counters.secretUpgrades).toBe(1);
    } finally {
      await legacy.broker.close();
    }
  });

  it('refuses a connection over MQTT_MAX_CONNECTIONS with CONNACK 3', async () => {
    const small = await startTestBroker([lamp, pump], { maxConnections: 1 });
    try {
      const u = `mqtt://127.0.0.1:${small.broker.port}`;
      const one = await connectClient(u, asDevice(lamp));
      await expect(connectClient(u, asDevice(pump))).rejects.toMatchObject({ code: 3 });
      await one.endAsync();
    } finally {
      await small.broker.close();
    }
  });

  it('counts failures per address and slows the address down after repeated ones', async () => {
    const slow = await startTestBroker([lamp], {
      authThrottle: { freeFailures: 2, baseDelayMs: 50, maxDelayMs: 100, windowMs: 60_000 },
    });
    try {
      const u = `mqtt://127.0.0.1:${slow.broker.port}`;
      for (let i = 0; i < 4; i++) {
        await expect(connectClient(u, asDevice({ ...lamp, secret: 'bad' }))).rejects.toMatchObject({
          code: 4,
        });
      }
      expect(slow.broker.counters.authFailures).toBe(4);
      expect(slow.broker.counters.throttledConnects).toBe(2);
      // A right secret still gets in (after the delay), and clears the address.
      (await connectClient(u, asDevice(lamp))).end(true);
    } finally {
      await slow.broker.close();
    }
  });
});

/** The directory entry of a device of a running test broker. */
async function startTestBrokerDirectory(broker: Broker, id: string) {
  void broker;
  const { hashDeviceSecret } = await import('../domain/index.js');
  return {
    directory: {
      id,
      type: 'pump_station' as const,
      gridCode: '430302001001001',
      secretHash: hashDeviceSecret(pump.secret),
      enabled: true,
    },
  };
}

function nextMessageMatching(
  client: MqttClient,
  topic: string,
  match: (payload: string) => boolean,
  ms = 10_000,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no matching message on ${topic}`)), ms);
    const onMessage = (t: string, payload: Buffer) => {
      if (t !== topic || !match(payload.toString())) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve(payload);
    };
    client.on('message', onMessage);
  });
}

describe('the TLS and WebSocket listeners', () => {
  const pair = selfSignedPair();
  let broker: Broker;
  let received: Received[];

  beforeAll(async () => {
    if (!pair) return;
    ({ broker, received } = await startTestBroker([lamp], {
      tcpEnabled: false,
      tls: { port: 0, certFile: pair.certFile, keyFile: pair.keyFile },
      wsPort: 0,
    }));
  });
  afterAll(async () => {
    await broker?.close();
    if (pair) await rm(pair.dir, { recursive: true, force: true });
  });

  it.skipIf(!pair)('turns the TCP listener off when told to', () => {
    expect(broker.ports.mqtt).toBeNull();
    expect(broker.ports.mqtts).toBeGreaterThan(0);
    expect(broker.ports.ws).toBeGreaterThan(0);
  });

  it.skipIf(!pair)('accepts a device over MQTT/TLS with the self-signed certificate', async () => {
    const { readFileSync } = await import('node:fs');
    const device = await connectClient(`mqtts://127.0.0.1:${broker.ports.mqtts}`, {
      ...asDevice(lamp),
      ca: readFileSync(pair!.certFile),
    });
    await device.publishAsync(`devices/${lamp.id}/telemetry`, '{"on":true}', { qos: 1 });
    await device.endAsync();
    expect(received.at(-1)).toMatchObject({ deviceId: lamp.id, kind: 'telemetry' });
  });

  it.skipIf(!pair)('accepts a device over MQTT over WebSocket', async () => {
    const device = await connectClient(`ws://127.0.0.1:${broker.ports.ws}/mqtt`, asDevice(lamp));
    await device.publishAsync(`devices/${lamp.id}/telemetry`, '{"dim":40}', { qos: 1 });
    await device.endAsync();
    expect(received.at(-1)).toMatchObject({ payload: '{"dim":40}' });
  });

  it.skipIf(!pair)('answers a plain HTTP request on the WebSocket port with 426', async () => {
    const res = await fetch(`http://127.0.0.1:${broker.ports.ws}/`);
    expect(res.status).toBe(426);
  });
});

describe('persistence on disk', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hub-test-mqtt-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps a QoS 1 session and retained messages across a broker restart', async () => {
    const stores = { kind: 'level' as const, dir: path.join(dir, 'mqtt') };
    const first = await startTestBroker([lamp], { stores, servicePassword });
    const url1 = `mqtt://127.0.0.1:${first.broker.port}`;
    const device = await connectClient(url1, asDevice(lamp, { clean: false }));
    await device.subscribeAsync(`devices/${lamp.id}/commands`, { qos: 1 });
    await device.publishAsync(`devices/${lamp.id}/status`, '{"online":true,"fw":"7"}', {
      qos: 1,
      retain: true,
    });
    await device.endAsync();
    await first.broker.publish(`devices/${lamp.id}/commands`, '{"id":"while-away"}', 1);
    await first.broker.close();

    const second = await startTestBroker([lamp], { stores, servicePassword });
    try {
      const url2 = `mqtt://127.0.0.1:${second.broker.port}`;
      const again = mqtt.connect(url2, {
        ...asDevice(lamp, { clean: false }),
        protocolVersion: 4,
        reconnectPeriod: 0,
      });
      const got = await nextMessage(again, `devices/${lamp.id}/commands`);
      expect(got.toString()).toBe('{"id":"while-away"}');
      again.end(true);
      const svc = await connectClient(url2, {
        clientId: 'svc',
        username: 'service:ops',
        password: servicePassword,
      });
      const retained = nextMessageMatching(svc, `devices/${lamp.id}/status`, (p) =>
        p.includes('"online"'),
      );
      await svc.subscribeAsync(`devices/${lamp.id}/status`, { qos: 1 });
      expect(JSON.parse((await retained).toString())).toHaveProperty('online');
      svc.end(true);
    } finally {
      await second.broker.close();
    }
  });
});
