import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import {
  asDevice,
  connectClient,
  startTestBroker,
  type TestDevice,
} from '../../test/support/broker.js';
import { createStores } from './stores.js';

/**
 * #17: Aedes asks its store on every CONNECT and close of a clean session
 * (the client's subscriptions, inbound QoS 2 packets and will) and on every
 * SUBSCRIBE (the retained message). The LevelDB store answers "none" from
 * indexes in memory, read from the keys at setup and kept by the writes: a
 * reconnecting fleet costs LevelDB nothing, and what is stored is still found
 * (after a restart too).
 */
type Packet = { cmd: string; topic: string; payload: Buffer; qos: number; retain: boolean };
interface Store {
  setup(broker: unknown): Promise<void>;
  destroy(): Promise<void>;
  storeRetained(p: Packet): Promise<void>;
  createRetainedStreamCombi(filters: string[]): AsyncIterable<Packet>;
  addSubscriptions(c: { id: string }, subs: { topic: string; qos: number }[]): Promise<void>;
  subscriptionsByClient(c: { id: string }): Promise<{ topic: string }[]>;
  cleanSubscriptions(c: { id: string }): Promise<void>;
  incomingStorePacket(c: { id: string }, p: object): Promise<void>;
  incomingGetPacket(c: { id: string }, p: { messageId: number }): Promise<unknown>;
  incomingDelPacket(c: { id: string }, p: { messageId: number }): Promise<void>;
  cleanIncoming(c: { id: string }): Promise<void>;
  putWill(c: { id: string }, p: object): Promise<void>;
  getWill(c: { id: string }): Promise<{ topic: string } | undefined>;
  delWill(c: { id: string }): Promise<unknown>;
  outgoingEnqueue(sub: { clientId: string }, p: object): Promise<void>;
  outgoingUpdate(c: { id: string }, p: object): Promise<void>;
  outgoingClearMessageId(c: { id: string }, p: { messageId: number }): Promise<unknown>;
  outgoingStream(c: { id: string }): AsyncIterable<Packet>;
}

/** Counts LevelDB reads and range deletes, on every Level instance. */
function countLevel() {
  const proto = Level.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const names = ['get', 'getMany', 'clear', 'iterator', 'keys', 'values'];
  const saved = names.map((n) => proto[n]!);
  const counts: Record<string, number> = {};
  names.forEach((n, i) => {
    proto[n] = function (this: unknown, ...a: unknown[]) {
      counts[n] = (counts[n] ?? 0) + 1;
      return saved[i]!.apply(this, a);
    };
  });
  return {
    counts,
    restore: () => names.forEach((n, i) => (proto[n] = saved[i]!)),
  };
}

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function open(dir: string): Promise<Store> {
  const store = createStores({ kind: 'level', dir }).persistence as Store;
  await store.setup({ id: 'broker-test' });
  return store;
}
const packet = (topic: string, payload: string): Packet => ({
  cmd: 'publish',
  topic,
  payload: Buffer.from(payload),
  qos: 1,
  retain: true,
});

describe('the LevelDB store’s session and retained indexes', () => {
  it('answers "none" for a client with nothing stored without reading LevelDB', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hub-index-'));
    dirs.push(dir);
    const store = await open(path.join(dir, 'mqtt'));
    await store.storeRetained(packet('devices/A/status', '{"online":true}'));
    const level = countLevel();
    try {
      const nobody = { id: 'SL-00001' };
      expect(await store.subscriptionsByClient(nobody)).toEqual([]);
      await store.cleanSubscriptions(nobody);
      await store.cleanIncoming(nobody);
      expect(await store.delWill(nobody)).toBeUndefined();
      expect(await store.getWill(nobody)).toBeUndefined();
      for await (const p of store.outgoingStream(nobody)) throw new Error(`queued ${p.topic}`);
      const none = [];
      for await (const p of store.createRetainedStreamCombi(['devices/SL-00001/commands'])) {
        none.push(p);
      }
      expect(none).toEqual([]);
    } finally {
      level.restore();
    }
    expect(level.counts).toEqual({});
    await store.destroy();
  });

  it('still finds what is stored, after a restart too, and forgets what is cleaned', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hub-index-'));
    dirs.push(dir);
    const file = path.join(dir, 'mqtt');
    // An id with the characters the store encodes, and a topic with a colon.
    const client = { id: 'gw:01/ü' };
    let store = await open(file);
    await store.addSubscriptions(client, [{ topic: 'devices/+/status:x', qos: 1 }]);
    await store.incomingStorePacket(client, { ...packet('a/b', 'x'), qos: 2, messageId: 7 });
    await store.putWill(client, packet('devices/gw/status', '{"online":false}'));
    await store.storeRetained(packet('devices/gw/commands', '{"command":"dim"}'));
    const queued = { ...packet('devices/gw/commands', 'q'), brokerId: 'b1', brokerCounter: 42 };
    await store.outgoingEnqueue({ clientId: client.id }, queued);
    await store.destroy();
    const drain = async (s: Store) => {
      const out: string[] = [];
      for await (const p of s.outgoingStream(client)) out.push(p.payload.toString());
      return out;
    };

    store = await open(file);
    expect((await store.subscriptionsByClient(client)).map((s) => s.topic)).toEqual([
      'devices/+/status:x',
    ]);
    await expect(store.incomingGetPacket(client, { messageId: 7 })).resolves.toBeDefined();
    expect((await store.getWill(client))?.topic).toBe('devices/gw/status');
    const got: Packet[] = [];
    for await (const p of store.createRetainedStreamCombi(['devices/gw/commands'])) got.push(p);
    expect(got.map((p) => p.payload.toString())).toEqual(['{"command":"dim"}']);

    expect(await drain(store)).toEqual(['q']);
    await store.outgoingUpdate(client, { ...queued, messageId: 3 });
    expect(await store.outgoingClearMessageId(client, { messageId: 3 })).toBeDefined();
    expect(await drain(store)).toEqual([]);
    await store.cleanSubscriptions(client);
    await store.cleanIncoming(client);
    expect(await store.delWill(client)).toBeDefined();
    await store.storeRetained({ ...packet('devices/gw/commands', ''), payload: Buffer.alloc(0) });
    await store.destroy();

    store = await open(file);
    expect(await store.subscriptionsByClient(client)).toEqual([]);
    await expect(store.incomingGetPacket(client, { messageId: 7 })).rejects.toThrow(
      'no such packet',
    );
    expect(await store.getWill(client)).toBeUndefined();
    expect(await drain(store)).toEqual([]);
    const gone: Packet[] = [];
    for await (const p of store.createRetainedStreamCombi(['devices/gw/commands'])) gone.push(p);
    expect(gone).toEqual([]);
    await store.destroy();
  });

  it('lets a device CONNECT, SUBSCRIBE to its commands and close with no LevelDB read', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hub-index-'));
    dirs.push(dir);
    const lamp: TestDevice = {
      id: 'SL-I0001',
      secret: 'lamp-secret-for-index-01',
      type: 'streetlight',
    };
    const { broker } = await startTestBroker([lamp], {
      stores: { kind: 'level', dir: path.join(dir, 'mqtt') },
    });
    try {
      const url = `mqtt://127.0.0.1:${broker.port}`;
      // The first connect writes the device's retained status; the second is the storm's.
      (await connectClient(url, asDevice(lamp))).end(true);
      await new Promise((r) => setTimeout(r, 200));
      const level = countLevel();
      try {
        const device = await connectClient(url, asDevice(lamp));
        await device.subscribeAsync(`devices/${lamp.id}/commands`, { qos: 1 });
        await device.endAsync();
        await new Promise((r) => setTimeout(r, 200));
      } finally {
        level.restore();
      }
      expect(level.counts).toEqual({});
    } finally {
      await broker.close();
    }
  });
});
