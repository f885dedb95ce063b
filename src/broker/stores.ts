import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { Level } from 'level';
import { createClusterEmitter } from './cluster-emitter.js';

/**
 * Where the broker keeps sessions, QoS 1/2 queues and retained messages, and
 * how nodes share fan-out (#6, docs/gateway.md):
 * - one node: a memory store, or LevelDB on disk (the default);
 * - a cluster (REDIS_URL): aedes-persistence-redis, and a batched emitter over
 *   Redis pub/sub (cluster-emitter.ts; mqemitter-redis before #17). Keys and
 *   channels carry `keyPrefix`, so several hubs (or test runs) can share one
 *   Redis.
 * The aedes stores are CommonJS without types; the async classes are loaded
 * directly because aedes 1.x wants async persistence.
 *
 * Retained messages (#17): every device subscribes to its own `commands`
 * topic when it connects, and every device has a retained `status`. The
 * memory and level stores answer each SUBSCRIBE by testing every retained
 * message against the filter (LevelDB decodes each one first): O(fleet) per
 * connect, O(fleet²) for a reconnect storm. The subclasses below look a filter
 * without wildcards up by key, and scan only the key range under a wildcard
 * filter's literal prefix (services and Node-RED). Redis already looks exact
 * filters up by key (HGET) and is used as it is.
 */
export type StoreOptions =
  | { readonly kind: 'memory' }
  | { readonly kind: 'level'; readonly dir: string }
  | {
      readonly kind: 'redis';
      readonly url: string;
      readonly keyPrefix: string;
      /**
       * How nodes share fan-out: batches on one channel (cluster-emitter.ts, decision 0195),
       * or mqemitter-redis as it was before (a PUBLISH per message; the bench's baseline).
       * Every node of a cluster must use the same one.
       */
      readonly emitter?: 'batched' | 'mqemitter-redis';
    };

export interface BrokerStores {
  /** Aedes `persistence` option. */
  readonly persistence: unknown;
  /** Aedes `mq` option; undefined: the in-process emitter. */
  readonly mq?: unknown;
  readonly description: string;
}

/** A retained PUBLISH as the stores keep it (aedes wraps it in a Packet again). */
interface RetainedPacket {
  readonly topic: string;
  readonly payload: Buffer | string;
  readonly [key: string]: unknown;
}

interface TopicMatcher {
  add(pattern: string): void;
  test(topic: string): boolean;
}

const require = createRequire(import.meta.url);
// The same matcher and options the aedes stores use, so wildcard answers do not change.
const { QlobberTrue } = require('qlobber') as { QlobberTrue: new (o: object) => TopicMatcher };
const qlobberOptions = {
  wildcard_one: '+',
  wildcard_some: '#',
  separator: '/',
  match_empty_levels: true,
};
const msgpack = require('msgpack-lite') as { decode(b: Buffer): RetainedPacket };

const isWildcard = (filter: string) => filter.includes('+') || filter.includes('#');

/** The part of a wildcard filter before its first wildcard: every match starts with it. */
export function literalPrefix(filter: string): string {
  const plus = filter.indexOf('+');
  const hash = filter.indexOf('#');
  const cut = Math.min(plus < 0 ? filter.length : plus, hash < 0 ? filter.length : hash);
  return filter.slice(0, cut);
}

function commonPrefix(strings: readonly string[]): string {
  let prefix = strings[0] ?? '';
  for (const s of strings) while (!s.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix;
}

/**
 * The retained messages for the filters of one SUBSCRIBE: each exact filter
 * by key, then the wildcard filters through `scan` (candidates under their
 * common literal prefix, tested here), each topic once.
 */
/**
 * Aedes pipes the retained stream without an error handler: a store error (the
 * store closing at shutdown while a SUBSCRIBE is answered) would crash the
 * process. The subscriber goes without its retained messages instead.
 */
async function* failSafe(
  packets: AsyncIterable<RetainedPacket>,
  onError: (err: unknown) => void,
): AsyncGenerator<RetainedPacket> {
  try {
    yield* packets;
  } catch (err) {
    onError(err);
  }
}

async function* retainedFor(
  filters: readonly string[],
  get: (topic: string) => Promise<RetainedPacket | undefined> | RetainedPacket | undefined,
  scan: (
    prefix: string,
  ) => AsyncIterable<[string, () => RetainedPacket]> | Iterable<[string, () => RetainedPacket]>,
): AsyncGenerator<RetainedPacket> {
  const sent = new Set<string>();
  const wildcards: string[] = [];
  for (const filter of filters) {
    if (isWildcard(filter)) {
      wildcards.push(filter);
      continue;
    }
    if (sent.has(filter)) continue;
    const packet = await get(filter);
    if (packet) {
      sent.add(filter);
      yield packet;
    }
  }
  if (wildcards.length === 0) return;
  const matcher = new QlobberTrue(qlobberOptions);
  for (const w of wildcards) matcher.add(w);
  for await (const [topic, load] of scan(commonPrefix(wildcards.map(literalPrefix)))) {
    if (!sent.has(topic) && matcher.test(topic)) yield load();
  }
}

type PersistenceClass<T = object> = new (...args: never[]) => T;

/** aedes-persistence (memory) with its retained messages in a map of its own. */
function memoryPersistence(onError: (err: unknown) => void): unknown {
  const Memory = require('aedes-persistence/asyncPersistence.js') as PersistenceClass;
  class RetainedByKey extends (Memory as new () => object) {
    readonly #retained = new Map<string, RetainedPacket>();
    storeRetained(packet: RetainedPacket): Promise<void> {
      if (packet.payload.length === 0) this.#retained.delete(packet.topic);
      else this.#retained.set(packet.topic, { ...packet });
      return Promise.resolve();
    }
    createRetainedStreamCombi(filters: string[]) {
      const map = this.#retained;
      return Readable.from(
        failSafe(
          retainedFor(
            filters,
            (topic) => map.get(topic),
            function* (prefix) {
              for (const [topic, packet] of map) {
                if (topic.startsWith(prefix))
                  yield [topic, () => packet] as [string, () => RetainedPacket];
              }
            },
          ),
          onError,
        ),
      );
    }
    createRetainedStream(filter: string) {
      return this.createRetainedStreamCombi([filter]);
    }
  }
  return new RetainedByKey();
}

/** The LevelDB key prefixes of aedes-persistence-level 9 (asyncPersistence.js). */
const retainedKey = 'retained:';
const sessionKeys = {
  subscriptions: 'subscriptions:',
  incoming: 'incoming:',
  outgoing: 'outgoing:',
  will: 'will:',
};

interface Client {
  readonly id: string;
}

/**
 * aedes-persistence-level reading retained messages by key, and by key range
 * under a wildcard. It also knows, in memory, which clients have session
 * state stored (subscriptions of a persistent session, inbound QoS 2 packets,
 * a will) and which topics have a retained message: Aedes asks LevelDB on
 * every CONNECT and close of a clean session (clean its subscriptions, its
 * inbound packets, its will) and on every SUBSCRIBE (the retained message),
 * and for a reconnecting fleet the answer is almost always "none". Those
 * reads took a fifth of the gateway's thread and LevelDB's own in a
 * reconnect storm (#17); the indexes are read from the keys once at setup
 * and kept by the same calls that write the keys.
 */
function levelPersistence(dir: string, onError: (err: unknown) => void): unknown {
  const LevelPersistence = require('aedes-persistence-level/asyncPersistence.js') as new (
    db: unknown,
  ) => LevelStore;
  interface LevelStore {
    setup(broker: unknown): Promise<void>;
    storeRetained(packet: RetainedPacket): Promise<void>;
    addSubscriptions(client: Client, subs: readonly { topic: string }[]): Promise<void>;
    removeSubscriptions(client: Client, topics: readonly string[]): Promise<void>;
    subscriptionsByClient(client: Client): Promise<unknown[]>;
    incomingStorePacket(client: Client, packet: { messageId: number }): Promise<void>;
    incomingDelPacket(client: Client, packet: { messageId: number }): Promise<void>;
    cleanIncoming(client: Client): Promise<void>;
    putWill(client: Client, packet: object): Promise<void>;
    getWill(client: Client): Promise<unknown>;
    delWill(client: Client): Promise<unknown>;
    outgoingEnqueue(sub: { clientId: string }, packet: QueuedPacket): Promise<void>;
    outgoingClearMessageId(client: Client, packet: object): Promise<QueuedPacket | undefined>;
    outgoingStream(client: Client): Readable;
  }
  // Sessions and queued messages are raw telemetry: private to the hub user (issue 11).
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const db = new Level<string, Buffer>(dir, { valueEncoding: 'buffer' });
  /** The keys under `prefix` (which ends with ':', so `;` bounds the range). */
  const keysUnder = (prefix: string) => db.keys({ gte: prefix, lt: `${prefix.slice(0, -1)};` });
  /** The client part of a session key: ids are stored URI-encoded, so ':' ends them. */
  const clientOf = (key: string, prefix: string) => key.slice(prefix.length).split(':', 1)[0]!;
  const idOf = (client: Client) => encodeURIComponent(client.id);
  const add = (index: Map<string, Set<string>>, id: string, member: string) => {
    const set = index.get(id);
    if (set) set.add(member);
    else index.set(id, new Set([member]));
  };
  const remove = (index: Map<string, Set<string>>, id: string, member: string) => {
    const set = index.get(id);
    if (set?.delete(member) && set.size === 0) index.delete(id);
  };
  class IndexedLevelPersistence extends LevelPersistence {
    readonly #retained = new Set<string>();
    readonly #subscriptions = new Map<string, Set<string>>();
    readonly #incoming = new Map<string, Set<string>>();
    readonly #wills = new Set<string>();
    readonly #outgoing = new Map<string, Set<string>>();

    override async setup(broker: unknown): Promise<void> {
      await super.setup(broker);
      for await (const key of keysUnder(retainedKey))
        this.#retained.add(key.slice(retainedKey.length));
      for await (const key of keysUnder(sessionKeys.subscriptions)) {
        const id = clientOf(key, sessionKeys.subscriptions);
        add(this.#subscriptions, id, key.slice(sessionKeys.subscriptions.length + id.length + 1));
      }
      for await (const key of keysUnder(sessionKeys.incoming)) {
        const id = clientOf(key, sessionKeys.incoming);
        add(this.#incoming, id, key.slice(sessionKeys.incoming.length + id.length + 1));
      }
      for await (const key of keysUnder(sessionKeys.outgoing)) {
        const id = clientOf(key, sessionKeys.outgoing);
        add(this.#outgoing, id, key.slice(sessionKeys.outgoing.length + id.length + 1));
      }
      for await (const key of keysUnder(sessionKeys.will))
        this.#wills.add(key.slice(sessionKeys.will.length));
    }

    override storeRetained(packet: RetainedPacket): Promise<void> {
      if (packet.payload.length === 0) this.#retained.delete(packet.topic);
      else this.#retained.add(packet.topic);
      return super.storeRetained(packet);
    }
    override addSubscriptions(client: Client, subs: readonly { topic: string }[]) {
      for (const sub of subs) add(this.#subscriptions, idOf(client), sub.topic);
      return super.addSubscriptions(client, subs);
    }
    // Entries go before their keys do: the index may name a client with nothing stored
    // (one needless read), never miss one that has something.
    override removeSubscriptions(client: Client, topics: readonly string[]) {
      for (const topic of topics) remove(this.#subscriptions, idOf(client), topic);
      return super.removeSubscriptions(client, topics);
    }
    override subscriptionsByClient(client: Client) {
      if (!this.#subscriptions.has(idOf(client))) return Promise.resolve([]);
      return super.subscriptionsByClient(client);
    }
    override incomingStorePacket(client: Client, packet: { messageId: number }) {
      add(this.#incoming, idOf(client), padId(packet.messageId));
      return super.incomingStorePacket(client, packet);
    }
    override incomingDelPacket(client: Client, packet: { messageId: number }) {
      remove(this.#incoming, idOf(client), padId(packet.messageId));
      return super.incomingDelPacket(client, packet);
    }
    override cleanIncoming(client: Client): Promise<void> {
      const id = idOf(client);
      if (!this.#incoming.delete(id)) return Promise.resolve();
      return super.cleanIncoming(client);
    }
    // The QoS 1/2 queue of a persistent session: an entry per queued packet, dropped once
    // its key is gone (a packet's broker counter is never queued again).
    override outgoingEnqueue(sub: { clientId: string }, packet: QueuedPacket) {
      add(this.#outgoing, encodeURIComponent(sub.clientId), queuedKey(packet));
      return super.outgoingEnqueue(sub, packet);
    }
    override async outgoingClearMessageId(client: Client, packet: object) {
      const cleared = await super.outgoingClearMessageId(client, packet);
      if (cleared) remove(this.#outgoing, idOf(client), queuedKey(cleared));
      return cleared;
    }
    override outgoingStream(client: Client): Readable {
      return this.#outgoing.has(idOf(client)) ? super.outgoingStream(client) : Readable.from([]);
    }
    override putWill(client: Client, packet: object) {
      this.#wills.add(idOf(client));
      return super.putWill(client, packet);
    }
    override getWill(client: Client) {
      return this.#wills.has(idOf(client)) ? super.getWill(client) : Promise.resolve(undefined);
    }
    override delWill(client: Client) {
      return this.#wills.delete(idOf(client)) ? super.delWill(client) : Promise.resolve(undefined);
    }

    createRetainedStreamCombi(filters: string[]) {
      const retained = this.#retained;
      return Readable.from(
        failSafe(
          retainedFor(
            filters,
            async (topic) => {
              if (!retained.has(topic)) return undefined;
              const blob = await db.get(retainedKey + topic);
              return blob === undefined ? undefined : msgpack.decode(blob);
            },
            async function* (prefix) {
              // Keys sort bytewise, so the keys starting with the prefix are one run from `gte`.
              const start = retainedKey + prefix;
              for await (const [key, blob] of db.iterator({ gte: start })) {
                if (!key.startsWith(start)) break;
                // Only a matching message is decoded.
                yield [key.slice(retainedKey.length), () => msgpack.decode(blob)] as [
                  string,
                  () => RetainedPacket,
                ];
              }
            },
          ),
          onError,
        ),
      );
    }
    createRetainedStream(filter: string) {
      return this.createRetainedStreamCombi([filter]);
    }
  }
  return new IndexedLevelPersistence(db);
}

/** The store's message-id padding (16 digits), so an index entry names its key. */
const padId = (id: number) => String(id).padStart(16, '0');
interface QueuedPacket {
  readonly brokerId: string;
  readonly brokerCounter: number;
}
const queuedKey = (p: QueuedPacket) => `${p.brokerId}:${padId(p.brokerCounter)}`;

/**
 * `onError`: a store error while a SUBSCRIBE's retained messages were read (never thrown);
 * `onEmitterError`: the cluster emitter's Redis errors (it reconnects on its own).
 */
export function createStores(
  options: StoreOptions,
  onError: (err: unknown) => void = () => {},
  onEmitterError: (err: unknown) => void = () => {},
): BrokerStores {
  if (options.kind === 'memory') {
    return { persistence: memoryPersistence(onError), description: 'memory' };
  }
  if (options.kind === 'level') {
    return {
      persistence: levelPersistence(options.dir, onError),
      description: `level ${options.dir}`,
    };
  }
  const RedisPersistence = require('aedes-persistence-redis/asyncPersistence.js') as new (
    opts: Record<string, unknown>,
  ) => { createRetainedStreamCombi(patterns: string[]): AsyncIterable<unknown> };
  // aedes-persistence-redis 11 returns an async generator where aedes 1.2 pipes a stream
  // (lib/handlers/subscribe.js); the level store wraps it in Readable.from, so do the same.
  class StreamingRedisPersistence extends RedisPersistence {
    override createRetainedStreamCombi(patterns: string[]) {
      return Readable.from(
        failSafe(
          super.createRetainedStreamCombi(patterns) as AsyncIterable<RetainedPacket>,
          onError,
        ),
      ) as unknown as AsyncIterable<unknown>;
    }
  }
  const url = new URL(options.url);
  const redis = {
    host: url.hostname || '127.0.0.1',
    port: Number(url.port || 6379),
    db: Number(url.pathname.slice(1) || 0),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
  };
  return {
    persistence: new StreamingRedisPersistence({ ...redis, keyPrefix: options.keyPrefix }),
    mq:
      options.emitter === 'mqemitter-redis'
        ? perMessageEmitter(options.keyPrefix, redis)
        : createClusterEmitter({
            redis,
            channel: `${options.keyPrefix}mq`,
            onError: onEmitterError,
          }),
    description: `redis ${url.host} prefix ${options.keyPrefix}`,
  };
}

/** mqemitter-redis: one PUBLISH per message to a channel per topic (before #17). */
function perMessageEmitter(keyPrefix: string, redis: Record<string, unknown>): unknown {
  const { MQEmitterRedisPrefix } = require('mqemitter-redis') as {
    MQEmitterRedisPrefix: new (prefix: string, opts: Record<string, unknown>) => unknown;
  };
  return new MQEmitterRedisPrefix(keyPrefix, { ...redis });
}
