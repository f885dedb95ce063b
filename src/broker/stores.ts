import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { createClusterEmitter } from './cluster-emitter.js';
import { levelPersistence } from './level-store.js';
import { failSafe, retainedStream, type RetainedPacket } from './retained-lookup.js';

const require = createRequire(import.meta.url);

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
      return retainedStream(
        filters,
        (topic) => map.get(topic),
        function* (prefix) {
          for (const [topic, packet] of map) {
            if (topic.startsWith(prefix))
              yield [topic, () => packet] as [string, () => RetainedPacket];
          }
        },
        onError,
      );
    }
    createRetainedStream(filter: string) {
      return this.createRetainedStreamCombi([filter]);
    }
  }
  return new RetainedByKey();
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
