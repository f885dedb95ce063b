import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asDevice,
  connectClient,
  nextMessage,
  startTestBroker,
  type TestDevice,
} from '../../test/support/broker.js';
import { redisReachable, redisTestPrefix } from '../../test/support/redis.js';
import { waitFor } from '../../test/support/hub.js';
import type { Broker, StoreOptions } from './index.js';
import { createStores } from './stores.js';

/**
 * #17: each device subscribes to its own `commands` topic when it connects,
 * and every device of the fleet has a retained `status`. A SUBSCRIBE without
 * wildcards must find its retained message by key, not by testing (and
 * decoding) every retained message of the store.
 */
const require = createRequire(import.meta.url);
const qlobber = require('qlobber') as { QlobberTrue: { prototype: { test(t: string): boolean } } };
const msgpack = require('msgpack-lite') as { decode(b: Buffer): unknown };

/** Counts the retained messages the stores examine: topics matched against a filter, values decoded. */
function countReads() {
  const counts = { tested: 0, decoded: 0 };
  const proto = qlobber.QlobberTrue.prototype;
  const test = proto.test;
  const decode = msgpack.decode;
  proto.test = function (this: unknown, topic: string) {
    counts.tested++;
    return test.call(this, topic);
  };
  msgpack.decode = (b: Buffer) => {
    counts.decoded++;
    return decode(b);
  };
  return {
    counts,
    restore() {
      proto.test = test;
      msgpack.decode = decode;
    },
  };
}

const fleet = 3000;
const lamp: TestDevice = {
  id: 'SL-R0001',
  secret: 'lamp-secret-for-retained-01',
  type: 'streetlight',
};
const servicePassword = 'service-password-for-tests';

const kinds: {
  name: string;
  stores: () => Promise<StoreOptions | null>;
  cleanUp?: () => Promise<void>;
}[] = [];
let levelDir = '';
const redis = redisTestPrefix();
kinds.push({ name: 'memory', stores: async () => ({ kind: 'memory' }) });
kinds.push({
  name: 'level',
  stores: async () => {
    levelDir = await mkdtemp(path.join(os.tmpdir(), 'hub-retained-'));
    return { kind: 'level', dir: path.join(levelDir, 'mqtt') };
  },
  cleanUp: () => rm(levelDir, { recursive: true, force: true }),
});
kinds.push({
  name: 'redis',
  stores: async () =>
    (await redisReachable())
      ? { kind: 'redis', url: 'redis://127.0.0.1:6379', keyPrefix: redis.prefix }
      : null,
  cleanUp: () => redis.cleanUp(),
});

describe.each(kinds)('retained messages on the $name store', ({ stores, cleanUp }) => {
  let broker: Broker | undefined;
  let url = '';
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    const options = await stores();
    if (!options) return;
    ({ broker } = await startTestBroker([lamp], { stores: options, servicePassword }));
    url = `mqtt://127.0.0.1:${broker.port}`;
    const persistence = (
      broker.aedes as unknown as { persistence: { storeRetained(p: object): Promise<void> } }
    ).persistence;
    const retained = (topic: string, payload: string) =>
      persistence.storeRetained({
        cmd: 'publish',
        topic,
        payload: Buffer.from(payload),
        qos: 1,
        retain: true,
      });
    // A fleet's statuses, and readings no status filter may return.
    for (let i = 0; i < fleet; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => {
          const id = `SL-F${String(i + j).padStart(5, '0')}`;
          return Promise.all([
            retained(`devices/${id}/status`, '{"online":false}'),
            retained(`devices/${id}/telemetry`, '{"lux":1}'),
          ]);
        }),
      );
    }
    await retained(`devices/${lamp.id}/commands`, '{"command":"dim"}');
  }, 120_000);
  afterAll(async () => {
    for (const c of clients) c.end(true);
    await broker?.close();
    await cleanUp?.();
  });

  it('finds the retained message of an exact subscription by key, whatever the fleet size', async (ctx) => {
    if (!broker) return ctx.skip();
    const device = await connectClient(url, asDevice(lamp));
    clients.push(device);
    const reads = countReads();
    try {
      const got = nextMessage(device, `devices/${lamp.id}/commands`);
      await device.subscribeAsync(`devices/${lamp.id}/commands`, { qos: 1 });
      expect(JSON.parse((await got).toString())).toEqual({ command: 'dim' });
    } finally {
      reads.restore();
    }
    // One message read (and decoded where the store encodes), none of the other 6,000.
    expect(reads.counts.tested).toBeLessThanOrEqual(2);
    expect(reads.counts.decoded).toBeLessThanOrEqual(2);
  });

  it('gives a wildcard subscription every matching retained message and no other', async (ctx) => {
    if (!broker) return ctx.skip();
    const service = await connectClient(url, {
      clientId: `service-${Math.random()}`,
      username: 'service:rules',
      password: servicePassword,
    });
    clients.push(service);
    const topics = new Set<string>();
    service.on('message', (topic, _payload, packet) => {
      if (packet.retain) topics.add(topic);
    });
    await service.subscribeAsync('devices/+/status', { qos: 0 });
    // The fleet's statuses, and the lamp's own (published retained when it connected).
    await waitFor(
      () => (topics.size >= fleet + 1 ? true : undefined),
      'every retained status',
      60_000,
    );
    expect([...topics].every((t) => t.endsWith('/status'))).toBe(true);
    expect(topics.has('devices/SL-F02999/status')).toBe(true);
    expect(topics.has(`devices/${lamp.id}/status`)).toBe(true);
  });
});

describe('a store error while retained messages are read', () => {
  it('ends the stream and reports the error instead of crashing the process', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hub-retained-closed-'));
    const errors: unknown[] = [];
    try {
      const { persistence } = createStores({ kind: 'level', dir: path.join(dir, 'mqtt') }, (err) =>
        errors.push(err),
      );
      const p = persistence as {
        setup(broker: unknown): Promise<void>;
        destroy(): Promise<void>;
        createRetainedStreamCombi(filters: string[]): AsyncIterable<unknown>;
      };
      await p.setup({});
      await p.destroy();
      const got = [];
      for await (const packet of p.createRetainedStreamCombi(['devices/+/status', 'a/b'])) {
        got.push(packet);
      }
      expect(got).toEqual([]);
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
