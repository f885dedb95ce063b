import type { Logger } from 'pino';
import { upgradeDeviceSecretHashes, type DeviceIdentity, type Queryable } from '../db/index.js';

/**
 * Device hashes upgraded at CONNECT (decision 0135) reach the registry in
 * batches: a reconnect storm of legacy devices makes one UPDATE a second,
 * not one per device. A failed write is retried with the next batch; at
 * worst the device is upgraded again on its next CONNECT.
 */
export function createSecretUpgrades(db: Queryable, flushIntervalMs: number, logger: Logger) {
  let pending = new Map<string, { id: string; before: string; secretHash: string }>();
  let flushing: Promise<void> | null = null;
  function flush(): Promise<void> {
    if (flushing) return flushing;
    if (pending.size === 0) return Promise.resolve();
    const batch = pending;
    pending = new Map();
    flushing = upgradeDeviceSecretHashes(db, [...batch.values()])
      .then((n) => logger.info({ upgraded: n }, 'device secret hashes upgraded to sha256'))
      .catch((err: unknown) => {
        logger.warn({ err, count: batch.size }, 'device secret hashes not upgraded; retrying');
        for (const [id, u] of batch) if (!pending.has(id)) pending.set(id, u);
      })
      .finally(() => {
        flushing = null;
      });
    return flushing;
  }
  const timer = setInterval(() => void flush(), flushIntervalMs);
  timer.unref();
  return {
    add(device: DeviceIdentity, before: string): void {
      const earlier = pending.get(device.id);
      pending.set(device.id, {
        id: device.id,
        before: earlier?.before ?? before,
        secretHash: device.secretHash,
      });
    },
    async stop(): Promise<void> {
      clearInterval(timer);
      await flush();
      await flush();
    },
  };
}
