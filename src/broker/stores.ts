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

/** The LevelDB key prefix of retained messages in aedes-persistence-level. */
const retainedKey = 'retained:';

/** aedes-persistence-level reading retained messages by key, and by key range under a wildcard. */
function levelPersistence(dir: string, onError: (err: unknown) => void): unknown {
  const LevelPersistence = require('aedes-persistence-level/asyncPersistence.js') as new (
    db: unknown,
  ) => object;
  // Sessions and queued messages are raw telemetry: private to the hub user (issue 11).
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const db = new Level<string, Buffer>(dir, { valueEncoding: 'buffer' });
  class RetainedByKey extends LevelPersistence {
    createRetainedStreamCombi(filters: string[]) {
      return Readable.from(
        failSafe(
          retainedFor(
            filters,
            async (topic) => {
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
  return new RetainedByKey(db);
}

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
