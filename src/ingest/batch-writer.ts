import type { Logger } from 'pino';
import { insertReadings, type Queryable, type ReadingColumns } from '../db/index.js';

export interface BatchWriterOptions {
  readonly maxRows: number;
  readonly flushIntervalMs: number;
  /**
   * Rows held while the database is away before new ones are refused and
   * counted as lost. The durable spool that removes this limit is issue #3.
   */
  readonly maxBufferedRows: number;
}

/**
 * Collects readings in columns and writes them in one statement per batch:
 * when the batch is full or the oldest row has waited flushIntervalMs. One
 * write at a time; a failed write keeps its rows and retries with backoff.
 */
export function createBatchWriter(db: Queryable, options: BatchWriterOptions, logger: Logger) {
  let pending: ReadingColumns = { deviceIds: [], timesMs: [], data: [] };
  let inFlight: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let retryDelayMs = 0;
  const counters = { stored: 0, duplicates: 0, batches: 0, writeErrors: 0, lost: 0 };

  function schedule(delayMs: number): void {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      void flush();
    }, delayMs);
  }

  async function flush(): Promise<void> {
    if (inFlight) return inFlight;
    if (pending.deviceIds.length === 0) return;
    const batch = pending;
    pending = { deviceIds: [], timesMs: [], data: [] };
    inFlight = (async () => {
      try {
        const inserted = await insertReadings(db, batch);
        counters.stored += inserted;
        counters.duplicates += batch.deviceIds.length - inserted;
        counters.batches++;
        retryDelayMs = 0;
      } catch (err) {
        counters.writeErrors++;
        retryDelayMs = Math.min(Math.max(retryDelayMs * 2, 200), 5000);
        logger.warn(
          { err, rows: batch.deviceIds.length, retryInMs: retryDelayMs },
          'telemetry write failed; will retry',
        );
        // Put the failed batch back in front so order per device is kept.
        pending = {
          deviceIds: batch.deviceIds.concat(pending.deviceIds),
          timesMs: batch.timesMs.concat(pending.timesMs),
          data: batch.data.concat(pending.data),
        };
      } finally {
        inFlight = null;
      }
      if (pending.deviceIds.length >= options.maxRows) void flush();
      else if (pending.deviceIds.length > 0) schedule(retryDelayMs || options.flushIntervalMs);
    })();
    return inFlight;
  }

  return {
    counters,
    add(deviceId: string, timeMs: number, json: string): void {
      if (pending.deviceIds.length >= options.maxBufferedRows) {
        counters.lost++;
        if (counters.lost === 1 || counters.lost % 10000 === 0) {
          logger.error(
            { lost: counters.lost },
            'telemetry buffer full while the database is away; readings lost',
          );
        }
        return;
      }
      pending.deviceIds.push(deviceId);
      pending.timesMs.push(timeMs);
      pending.data.push(json);
      if (pending.deviceIds.length >= options.maxRows && retryDelayMs === 0) void flush();
      else schedule(retryDelayMs || options.flushIntervalMs);
    },
    pendingRows: () => pending.deviceIds.length,
    /** Writes everything held; used at shutdown and by tests. */
    async drain(): Promise<void> {
      if (timer) {
        clearTimeout(timer);
        timer = null;
      }
      while (inFlight || pending.deviceIds.length > 0) {
        await (inFlight ?? flush());
        if (retryDelayMs > 0 && pending.deviceIds.length > 0) {
          await new Promise((r) => setTimeout(r, retryDelayMs));
        }
      }
    },
    stop(): void {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}

export type BatchWriter = ReturnType<typeof createBatchWriter>;
