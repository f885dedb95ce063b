import { randomBytes } from 'node:crypto';
import net from 'node:net';
// ioredis: the cluster emitter's client (src/broker/cluster-emitter.ts); tests use it to clean up.
import { Redis } from 'ioredis';

export const machineRedisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** True when a Redis answers at `url`; otherwise prints why the caller skips. */
export async function redisReachable(url = machineRedisUrl): Promise<boolean> {
  const u = new URL(url);
  const ok = await new Promise<boolean>((resolve) => {
    const socket = net.connect(Number(u.port || 6379), u.hostname);
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.write('PING\r\n');
    });
    socket.once('data', (d) => {
      socket.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
  if (!ok) console.warn(`[skip] Redis not reachable at ${url}: start one or set TEST_REDIS_URL`);
  return ok;
}

/** A key prefix no other test run uses, and a function that deletes its keys. */
export function redisTestPrefix(url = machineRedisUrl): {
  prefix: string;
  cleanUp(): Promise<void>;
} {
  const prefix = `hub-test-${randomBytes(6).toString('hex')}:`;
  return {
    prefix,
    async cleanUp() {
      const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await redis.connect();
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length) await redis.del(...keys);
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}
