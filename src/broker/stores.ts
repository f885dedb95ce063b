import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { Level } from 'level';

/**
 * Where the broker keeps sessions, QoS 1/2 queues and retained messages, and
 * how nodes share fan-out (#6, docs/gateway.md):
 * - one node: aedes' memory store, or LevelDB on disk (the default);
 * - a cluster (REDIS_URL): aedes-persistence-redis and mqemitter-redis, as
 *   Aedes documents. Keys and channels carry `keyPrefix`, so several hubs
 *   (or test runs) can share one Redis.
 * The aedes stores are CommonJS without types; the async classes are loaded
 * directly because aedes 1.x wants async persistence.
 */
export type StoreOptions =
  | { readonly kind: 'memory' }
  | { readonly kind: 'level'; readonly dir: string }
  | { readonly kind: 'redis'; readonly url: string; readonly keyPrefix: string };

export interface BrokerStores {
  /** Aedes `persistence` option; undefined: aedes' own memory store. */
  readonly persistence?: unknown;
  /** Aedes `mq` option; undefined: the in-process emitter. */
  readonly mq?: unknown;
  readonly description: string;
}

const require = createRequire(import.meta.url);

export function createStores(options: StoreOptions): BrokerStores {
  if (options.kind === 'memory') return { description: 'memory' };
  if (options.kind === 'level') {
    const LevelPersistence = require('aedes-persistence-level/asyncPersistence.js') as new (
      db: unknown,
    ) => unknown;
    // Sessions and queued messages are raw telemetry: private to the hub user (issue 11).
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    return {
      persistence: new LevelPersistence(new Level(options.dir)),
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
        super.createRetainedStreamCombi(patterns),
      ) as unknown as AsyncIterable<unknown>;
    }
  }
  const { MQEmitterRedisPrefix } = require('mqemitter-redis') as {
    MQEmitterRedisPrefix: new (prefix: string, opts: Record<string, unknown>) => unknown;
  };
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
    mq: new MQEmitterRedisPrefix(options.keyPrefix, { ...redis }),
    description: `redis ${url.host} prefix ${options.keyPrefix}`,
  };
}
