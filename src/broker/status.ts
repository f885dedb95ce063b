import type { Logger } from 'pino';
import type { DeviceStatusRecord } from '../db/index.js';
import type { Protocol } from './listeners.js';

/** Writes a batch of status records; the hub passes the database's upsert. */
export type StatusSink = (records: readonly DeviceStatusRecord[]) => Promise<void>;

type PendingStatus = Omit<DeviceStatusRecord, 'lastSeen'> & { lastSeenMs: number };

/**
 * Who is online (#6). Connect, clean disconnect and last will update an
 * in-memory record per device; every publish refreshes `lastSeen`. Records
 * are written in one batch every `flushIntervalMs`, never per message. A
 * device with two connections (a takeover in progress) stays online until
 * its last one goes.
 */
export function createStatusTracker(
  sink: StatusSink,
  options: { flushIntervalMs: number; nodeId: string },
  logger: Logger,
) {
  const connections = new Map<string, number>();
  /** `lastSeen` becomes ISO text at the flush: a publish only stores a number (hot path). */
  const pending = new Map<string, PendingStatus>();
  let flushing: Promise<void> | null = null;
  let stopped = false;

  const mark = (
    deviceId: string,
    online: boolean,
    address: string | null,
    protocol: Protocol | null,
  ) => {
    const prev = pending.get(deviceId);
    pending.set(deviceId, {
      deviceId,
      online,
      lastSeenMs: Date.now(),
      address: address ?? prev?.address ?? null,
      protocol: protocol ?? prev?.protocol ?? null,
      nodeId: options.nodeId,
    });
  };

  function flush(): Promise<void> {
    if (flushing) return flushing;
    if (pending.size === 0) return Promise.resolve();
    const held = [...pending.values()];
    pending.clear();
    const batch: DeviceStatusRecord[] = held.map(({ lastSeenMs, ...r }) => ({
      ...r,
      lastSeen: new Date(lastSeenMs).toISOString(),
    }));
    flushing = sink(batch)
      .catch((err: unknown) => {
        logger.warn({ err, count: batch.length }, 'device status not written; retrying');
        // Newer records win over the failed batch.
        for (const r of held) if (!pending.has(r.deviceId)) pending.set(r.deviceId, r);
      })
      .finally(() => {
        flushing = null;
      });
    return flushing;
  }

  const timer = setInterval(() => void flush(), options.flushIntervalMs);
  timer.unref();

  return {
    connected(deviceId: string, address: string, protocol: Protocol): void {
      connections.set(deviceId, (connections.get(deviceId) ?? 0) + 1);
      mark(deviceId, true, address, protocol);
    },
    /** Returns true when the device has no connection left on this node. */
    disconnected(deviceId: string): boolean {
      const n = (connections.get(deviceId) ?? 1) - 1;
      if (n > 0) {
        connections.set(deviceId, n);
        return false;
      }
      connections.delete(deviceId);
      if (!stopped) mark(deviceId, false, null, null);
      return true;
    },
    seen(deviceId: string): void {
      const p = pending.get(deviceId);
      if (p) {
        p.lastSeenMs = Date.now();
      } else if (connections.has(deviceId)) {
        mark(deviceId, true, null, null);
      }
    },
    isOnline: (deviceId: string) => connections.has(deviceId),
    onlineCount: () => connections.size,
    flush,
    async stop(): Promise<void> {
      clearInterval(timer);
      await flush();
      stopped = true;
    },
  };
}

export type StatusTracker = ReturnType<typeof createStatusTracker>;
