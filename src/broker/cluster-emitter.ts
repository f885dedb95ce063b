import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { Redis, type RedisOptions } from 'ioredis';

/**
 * The broker nodes' shared emitter (Aedes `mq`) over Redis, batched (#17,
 * decision 0195). mqemitter-redis sent one msgpack-encoded Redis PUBLISH per
 * message to a channel per topic and decoded, de-duplicated (an LRU of
 * message ids) and copied every message on the way in: cross-node QoS 0 ran
 * at 0.22 of Mosquitto's rate. Here every node subscribes one channel; what
 * a node emits in one turn of the event loop leaves as one PUBLISH of one
 * binary batch; each node delivers its own messages locally at once and drops
 * its own batches on the way back without decoding them; a receiving node
 * hands every message to its local matcher, which skips topics nobody there
 * subscribes to.
 *
 * Kept as before: the order of one node's messages (one connection, PUBLISHes
 * in order, one subscribing connection per node); an `on` completes only once
 * the node's channel subscription is live, so a SUBACK is not sent before
 * remote messages can arrive. Changed: `emit`'s callback (Aedes reads the
 * publisher's socket again after it) comes once local subscribers have the
 * message, without waiting for Redis while less than `windowBytes` is
 * unacknowledged there, and only after Redis's reply beyond that.
 */

interface Message {
  readonly topic: string;
  readonly payload?: Buffer | string;
  readonly [key: string]: unknown;
}
type Done = (err?: Error | null) => void;
type Listener = (message: Message, cb: () => void) => void;

interface LocalEmitter {
  on(topic: string, notify: Listener, done?: () => void): unknown;
  emit(message: Message, cb?: Done): unknown;
  close(cb: () => void): unknown;
  closed: boolean;
}

const require = createRequire(import.meta.url);
const MQEmitter = require('mqemitter') as new (opts?: object) => LocalEmitter;
const msgpack = require('msgpack-lite') as {
  encode(value: unknown): Buffer;
  decode(buf: Buffer): Message;
};

const version = 1;
const tagBytes = 8;
const headerBytes = 1 + tagBytes;
/** An Aedes publish packet in the compact form; anything else as msgpack. */
const compactKind = 1;
const msgpackKind = 2;
const flagRetain = 4;
const flagDup = 8;
const flagStringPayload = 16;
const flagClientId = 32;
const flagMessageId = 64;
/** The keys of an Aedes `Packet` (aedes-packet) the compact form carries. */
const compactKeys = new Set([
  'cmd',
  'brokerId',
  'brokerCounter',
  'topic',
  'payload',
  'qos',
  'retain',
  'dup',
  'messageId',
  'clientId',
]);

function isCompact(m: Message): boolean {
  if (m.cmd !== 'publish' || typeof m.brokerId !== 'string' || m.brokerId.length > 80) {
    return false;
  }
  if (typeof m.brokerCounter !== 'number' || m.topic.length > 20_000) return false;
  if (!(typeof m.payload === 'string' || Buffer.isBuffer(m.payload))) return false;
  if (m.qos !== 0 && m.qos !== 1 && m.qos !== 2) return false;
  if (m.messageId !== undefined && !(Number.isInteger(m.messageId) && Number(m.messageId) < 65536))
    return false;
  if (m.clientId !== undefined && (typeof m.clientId !== 'string' || m.clientId.length > 20_000))
    return false;
  for (const key in m) if (!compactKeys.has(key)) return false;
  return true;
}

/** At most this many bytes for a string of `s.length` UTF-16 units. */
const utf8Max = (s: string) => s.length * 3;

/** One batch: version, the sender's tag, then each message (kind, fields, payload). */
export function encodeBatch(tag: Buffer, messages: readonly Message[]): Buffer {
  const encoded: (Buffer | undefined)[] = [];
  let size = headerBytes;
  for (const m of messages) {
    if (isCompact(m)) {
      const payload = m.payload as Buffer | string;
      size +=
        2 +
        1 +
        utf8Max(m.brokerId as string) +
        8 +
        2 +
        utf8Max(m.topic) +
        (m.clientId === undefined ? 0 : 2 + utf8Max(m.clientId as string)) +
        2 +
        4 +
        (typeof payload === 'string' ? utf8Max(payload) : payload.length);
      encoded.push(undefined);
    } else {
      const blob = msgpack.encode(m);
      size += 1 + 4 + blob.length;
      encoded.push(blob);
    }
  }
  const buf = Buffer.allocUnsafe(size);
  buf[0] = version;
  tag.copy(buf, 1);
  let o = headerBytes;
  const str = (s: string, lenBytes: 1 | 2) => {
    const n = buf.write(s, o + lenBytes, 'utf8');
    if (lenBytes === 1) buf[o] = n;
    else buf.writeUInt16LE(n, o);
    o += lenBytes + n;
  };
  messages.forEach((m, i) => {
    const blob = encoded[i];
    if (blob) {
      buf[o++] = msgpackKind;
      buf.writeUInt32LE(blob.length, o);
      blob.copy(buf, o + 4);
      o += 4 + blob.length;
      return;
    }
    const payload = m.payload as Buffer | string;
    buf[o++] = compactKind;
    buf[o++] =
      (m.qos as number) |
      (m.retain ? flagRetain : 0) |
      (m.dup ? flagDup : 0) |
      (typeof payload === 'string' ? flagStringPayload : 0) |
      (m.clientId === undefined ? 0 : flagClientId) |
      (m.messageId === undefined ? 0 : flagMessageId);
    str(m.brokerId as string, 1);
    buf.writeDoubleLE(m.brokerCounter as number, o);
    o += 8;
    str(m.topic, 2);
    if (m.clientId !== undefined) str(m.clientId as string, 2);
    if (m.messageId !== undefined) {
      buf.writeUInt16LE(m.messageId as number, o);
      o += 2;
    }
    if (typeof payload === 'string') {
      const n = buf.write(payload, o + 4, 'utf8');
      buf.writeUInt32LE(n, o);
      o += 4 + n;
    } else {
      buf.writeUInt32LE(payload.length, o);
      payload.copy(buf, o + 4);
      o += 4 + payload.length;
    }
  });
  return buf.subarray(0, o);
}

/** The messages of a batch; the sender's tag is bytes 1–8. Throws on a batch it cannot read. */
export function decodeBatch(buf: Buffer): Message[] {
  if (buf[0] !== version) throw new Error(`unknown batch version ${buf[0]}`);
  const out: Message[] = [];
  let o = headerBytes;
  const str = (lenBytes: 1 | 2) => {
    const n = lenBytes === 1 ? buf[o]! : buf.readUInt16LE(o);
    const s = buf.toString('utf8', o + lenBytes, o + lenBytes + n);
    o += lenBytes + n;
    return s;
  };
  while (o < buf.length) {
    const kind = buf[o++];
    if (kind === msgpackKind) {
      const n = buf.readUInt32LE(o);
      out.push(msgpack.decode(buf.subarray(o + 4, o + 4 + n)));
      o += 4 + n;
      continue;
    }
    if (kind !== compactKind) throw new Error(`unknown message kind ${kind}`);
    const flags = buf[o++]!;
    const brokerId = str(1);
    const brokerCounter = buf.readDoubleLE(o);
    o += 8;
    const topic = str(2);
    const clientId = flags & flagClientId ? str(2) : undefined;
    let messageId: number | undefined;
    if (flags & flagMessageId) {
      messageId = buf.readUInt16LE(o);
      o += 2;
    }
    const n = buf.readUInt32LE(o);
    if (o + 4 + n > buf.length) throw new Error('truncated batch');
    // A copy: a payload held by a slow subscriber's queue must not keep the whole batch alive.
    const payload =
      flags & flagStringPayload
        ? buf.toString('utf8', o + 4, o + 4 + n)
        : Buffer.from(buf.subarray(o + 4, o + 4 + n));
    o += 4 + n;
    const m: Record<string, unknown> = {
      cmd: 'publish',
      brokerId,
      brokerCounter,
      topic,
      payload,
      qos: flags & 3,
      retain: (flags & flagRetain) !== 0,
      dup: (flags & flagDup) !== 0,
    };
    if (messageId !== undefined) m.messageId = messageId;
    if (clientId !== undefined) m.clientId = clientId;
    out.push(m as unknown as Message);
  }
  return out;
}

export interface ClusterEmitterOptions {
  readonly redis: RedisOptions;
  /** The Redis channel every node of the cluster publishes to and subscribes. */
  readonly channel: string;
  /** A batch is sent early once it holds this many bytes (Redis buffers whole messages per subscriber). */
  readonly maxBatchBytes?: number;
  /**
   * Bytes sent to Redis and not yet acknowledged under which an `emit` completes without
   * waiting for Redis; beyond it, publishers wait (backpressure).
   */
  readonly windowBytes?: number;
  /** Connection errors (ioredis retries on its own) and batches that could not be read. */
  readonly onError?: (err: unknown) => void;
}

/** Aedes' `mq` for a cluster: mqemitter's local matching, batched Redis pub/sub between nodes. */
export function createClusterEmitter(options: ClusterEmitterOptions): unknown {
  const maxBatchBytes = options.maxBatchBytes ?? 256 * 1024;
  const windowBytes = options.windowBytes ?? 4 * 1024 * 1024;
  const onError = options.onError ?? (() => {});
  const localEmit = MQEmitter.prototype.emit;
  const localClose = MQEmitter.prototype.close;

  class ClusterEmitter extends MQEmitter {
    readonly #pub = new Redis(options.redis);
    readonly #sub = new Redis(options.redis);
    /** Who sent a batch: a node skips its own, already delivered locally. */
    readonly #tag = randomBytes(tagBytes);
    readonly #ready: Promise<unknown>;
    #pending: Message[] = [];
    #callbacks: Done[] = [];
    #pendingBytes = 0;
    #scheduled = false;
    #urgent = false;
    #inFlight = 0;
    #inFlightBytes = 0;
    #drained: (() => void) | undefined;
    #closing = false;

    constructor() {
      super({});
      const report = (err: unknown) => {
        if (!this.#closing) onError(err);
      };
      this.#pub.on('error', report);
      this.#sub.on('error', report);
      this.#sub.on('messageBuffer', (_channel: Buffer, batch: Buffer) => this.#receive(batch));
      this.#ready = this.#sub.subscribe(options.channel);
      this.#ready.catch(report);
    }

    #receive(batch: Buffer): void {
      if (
        batch.length >= headerBytes &&
        batch.compare(this.#tag, 0, tagBytes, 1, headerBytes) === 0
      )
        return;
      let messages: Message[];
      try {
        messages = decodeBatch(batch);
      } catch (err) {
        onError(err);
        return;
      }
      for (const m of messages) localEmit.call(this, m);
    }

    override on(topic: string, notify: Listener, done?: () => void) {
      // Complete only once remote messages can arrive (the SUBACK waits for this).
      return super.on(
        topic,
        notify,
        done &&
          (() => {
            void this.#ready.then(
              () => done(),
              () => done(),
            );
          }),
      );
    }

    override emit(message: Message, cb?: Done) {
      const done = cb ?? (() => {});
      if (this.closed || this.#closing) {
        done(new Error('cluster emitter is closed'));
        return this;
      }
      // Local subscribers at once, other nodes with the batch; done when both have it.
      let waiting = 2;
      let failure: Error | null = null;
      const both: Done = (err) => {
        if (err) failure = err;
        if (--waiting === 0) done(failure);
      };
      localEmit.call(this, message, () => both());
      this.#pending.push(message);
      this.#callbacks.push(both);
      this.#pendingBytes += message.topic.length + (message.payload?.length ?? 0) + 32;
      if (this.#pendingBytes >= maxBatchBytes && !this.#urgent) {
        // Before the turn ends, but not inside this emit (its callback may run in the flush).
        this.#urgent = true;
        queueMicrotask(() => this.#flush());
      } else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
      return this;
    }

    #flush(): void {
      this.#scheduled = false;
      this.#urgent = false;
      if (this.#pending.length === 0) return;
      const messages = this.#pending;
      const callbacks = this.#callbacks;
      this.#pending = [];
      this.#callbacks = [];
      this.#pendingBytes = 0;
      let batch: Buffer;
      try {
        batch = encodeBatch(this.#tag, messages);
      } catch (err) {
        for (const cb of callbacks) cb(err as Error);
        return;
      }
      this.#inFlight++;
      this.#inFlightBytes += batch.length;
      // Within the window the publishers go on at once: Redis pub/sub confirms nothing a
      // subscriber could rely on (QoS 1 is acknowledged by Aedes before the emit), and waiting
      // for its reply put a Redis round trip into every socket read of every publisher.
      const early = this.#inFlightBytes <= windowBytes;
      if (early) for (const cb of callbacks) cb(null);
      const settle = (err: Error | null) => {
        this.#inFlightBytes -= batch.length;
        if (!early) for (const cb of callbacks) cb(err);
        else if (err) onError(err);
        if (--this.#inFlight === 0) this.#drained?.();
      };
      this.#pub.publish(options.channel, batch).then(
        () => settle(null),
        (err: unknown) => settle(err instanceof Error ? err : new Error(String(err))),
      );
    }

    override close(cb: () => void) {
      if (this.#closing) {
        setImmediate(cb);
        return this;
      }
      this.#flush();
      // From here on emits are refused and connection errors are expected.
      this.#closing = true;
      const quit = () => {
        void Promise.allSettled([this.#pub.quit(), this.#sub.quit()]).then(() =>
          localClose.call(this, cb),
        );
      };
      if (this.#inFlight === 0) quit();
      else this.#drained = quit;
      return this;
    }
  }
  return new ClusterEmitter();
}
