import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { machineRedisUrl, redisReachable } from '../../test/support/redis.js';
import { createClusterEmitter, decodeBatch, encodeBatch } from './cluster-emitter.js';

interface Emitter {
  on(topic: string, notify: (m: Msg, cb: () => void) => void, done?: () => void): void;
  emit(m: Msg, cb?: (err?: Error | null) => void): void;
  close(cb: () => void): void;
}
type Msg = { topic: string; payload?: Buffer | string; [k: string]: unknown };

const tag = Buffer.alloc(8, 7);
const aedesPacket = (topic: string, payload: Buffer | string, extra: object = {}) => ({
  cmd: 'publish',
  brokerId: 'node-a',
  brokerCounter: 42,
  topic,
  payload,
  qos: 0,
  retain: false,
  dup: false,
  ...extra,
});

describe('cluster emitter batch encoding', () => {
  it('carries every field of an Aedes packet and any other message unchanged', () => {
    const messages = [
      aedesPacket('devices/SL-0001/telemetry', Buffer.from('{"pm10":86.5}'), {
        clientId: 'SL-0001',
      }),
      aedesPacket('devices/路灯-1/status', '{"online":true}', {
        qos: 1,
        retain: true,
        dup: true,
        messageId: 65535,
        brokerCounter: 2 ** 40 + 3,
      }),
      aedesPacket('devices/SL-0001/telemetry', Buffer.alloc(0)),
      // Not an Aedes packet (the directory's control message) and one with MQTT 5 properties.
      { topic: '$HUB/control/directory', payload: '{"id":"SL-0001"}' },
      aedesPacket('a/b', Buffer.from([0, 1, 2]), { properties: { contentType: 'x' } }),
    ];
    const batch = encodeBatch(tag, messages);
    expect(batch.subarray(1, 9)).toEqual(tag);
    const decoded = decodeBatch(batch);
    expect(decoded).toHaveLength(messages.length);
    decoded.forEach((m, i) => {
      const want = messages[i]!;
      for (const [k, v] of Object.entries(want)) {
        if (Buffer.isBuffer(v)) expect(Buffer.from(m[k] as Uint8Array)).toEqual(v);
        else expect(m[k]).toEqual(v);
      }
      expect(Object.keys(m).sort()).toEqual(Object.keys(want).sort());
    });
  });

  it('refuses a batch it cannot read instead of delivering garbage', () => {
    const batch = encodeBatch(tag, [aedesPacket('a/b', Buffer.from('xyz'))]);
    expect(() => decodeBatch(batch.subarray(0, batch.length - 1))).toThrow();
    const other = Buffer.from(batch);
    other[0] = 9;
    expect(() => decodeBatch(other)).toThrow(/version/);
  });
});

const reachable = await redisReachable();

describe.skipIf(!reachable)('cluster emitter over Redis', () => {
  const channel = `hub-test-emitter-${process.pid}-${Date.now()}:mq`;
  const redis = (() => {
    const u = new URL(machineRedisUrl);
    return { host: u.hostname, port: Number(u.port || 6379) };
  })();
  const emitters: Emitter[] = [];
  const make = (limits: { maxBatchBytes?: number; windowBytes?: number } = {}) => {
    const e = createClusterEmitter({ redis, channel, ...limits }) as Emitter;
    emitters.push(e);
    return e;
  };
  const on = (e: Emitter, topic: string, notify: (m: Msg) => void) =>
    new Promise<void>((resolve) =>
      e.on(
        topic,
        (m, cb) => {
          notify(m);
          cb();
        },
        resolve,
      ),
    );
  const emit = (e: Emitter, m: Msg) =>
    new Promise<void>((resolve, reject) => e.emit(m, (err) => (err ? reject(err) : resolve())));

  afterAll(async () => {
    await Promise.all(emitters.map((e) => new Promise<void>((r) => e.close(r))));
  });

  it('delivers one node’s messages to another in order, and to its own subscribers once', async () => {
    const a = make();
    const b = make();
    const atB: string[] = [];
    const atA: string[] = [];
    await on(b, 'devices/+/telemetry', (m) => atB.push(String(m.payload)));
    await on(a, 'devices/+/telemetry', (m) => atA.push(String(m.payload)));
    const sent = Array.from({ length: 5000 }, (_, i) => String(i));
    // Sent in turns of a few hundred, as a busy node would: several batches, one order.
    for (let i = 0; i < sent.length; i += 250) {
      await Promise.all(
        sent
          .slice(i, i + 250)
          .map((p) => emit(a, aedesPacket(`devices/SL-${Number(p) % 7}/telemetry`, p))),
      );
    }
    await expect.poll(() => atB.length).toBe(sent.length);
    expect(atB).toEqual(sent);
    // Delivered locally at once and not again when its own batch comes back through Redis.
    await emit(a, aedesPacket('devices/SL-0/telemetry', 'last'));
    await expect.poll(() => atB.at(-1)).toBe('last');
    expect(atA).toEqual([...sent, 'last']);
  });

  it('sends what is emitted in one turn as one Redis message', async () => {
    const a = make();
    const spy = new Redis(redis);
    const batches: string[][] = [];
    spy.on('messageBuffer', (_c: Buffer, batch: Buffer) =>
      batches.push(decodeBatch(batch).map((m) => m.topic)),
    );
    await spy.subscribe(channel);
    const received: number[] = [];
    const b = make();
    await on(b, 'lamps/#', (m) => received.push(Number(String(m.payload))));
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) => emit(a, aedesPacket(`lamps/${i}`, String(i)))),
    );
    await expect.poll(() => received.length).toBe(1000);
    // A later turn's message marks the end of what the spy can have seen.
    await emit(a, aedesPacket('lamps/marker', 'end'));
    await expect.poll(() => batches.at(-1)).toEqual(['lamps/marker']);
    expect(batches.map((b) => b.length)).toEqual([1000, 1]);
    spy.disconnect();
  });

  it('splits a large turn into batches of bounded size and waits for Redis beyond its window, in order', async () => {
    const a = make({ maxBatchBytes: 2048, windowBytes: 4096 });
    const b = make();
    const got: string[] = [];
    await on(b, 'big/+', (m) => got.push(String(m.payload).slice(0, 4)));
    const sent = Array.from({ length: 300 }, (_, i) => String(i).padStart(4, '0'));
    await Promise.all(sent.map((p) => emit(a, aedesPacket('big/x', p + 'x'.repeat(200)))));
    await expect.poll(() => got.length).toBe(sent.length);
    expect(got).toEqual(sent);
  });

  it('delivers to a subscription made on another node as soon as it is acknowledged', async () => {
    const a = make();
    const b = make();
    const got: string[] = [];
    // `on` completes (Aedes sends SUBACK) only once b's channel subscription is live.
    await on(b, 'devices/GS-0001/commands', (m) => got.push(String(m.payload)));
    await emit(a, aedesPacket('devices/GS-0001/commands', '{"name":"on"}', { qos: 1 }));
    await expect.poll(() => got).toEqual(['{"name":"on"}']);
  });

  it('sends what is pending before it closes, and refuses to emit afterwards', async () => {
    const a = make();
    const b = make();
    const got: string[] = [];
    await on(b, 'bye/+', (m) => got.push(String(m.payload)));
    const sent = emit(a, aedesPacket('bye/1', 'pending'));
    await new Promise<void>((r) => a.close(r));
    await sent;
    await expect.poll(() => got).toEqual(['pending']);
    await expect(emit(a, aedesPacket('bye/1', 'late'))).rejects.toThrow(/closed/);
  });
});
