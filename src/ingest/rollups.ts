import type { Logger } from 'pino';
import type { CommittedBatch } from './batch-writer.js';
import {
  upsertLatest,
  upsertRollups,
  type Queryable,
  type ReadingColumns,
  type RollupColumns,
} from '../db/index.js';

const bucketMs = 300_000;

interface Stats {
  n: number;
  sum: number;
  min: number;
  max: number;
}

/**
 * Device → bucket start → metric → stats. Nested, so a reading finds its
 * entries with the strings it already has (the device id, the payload's
 * keys): a joined key per metric was a string built and hashed per reading
 * (#17, the hot path).
 */
type StatsTree = Map<string, Map<number, Map<string, Stats>>>;

/**
 * Accumulates 5-minute rollups and latest values in memory from the readings a
 * batch actually inserted, and writes them every `flushIntervalMs`: one upsert
 * per (device, metric, bucket) per interval instead of one per reading and
 * metric, which cost the database about four times the insert itself
 * (docs/benchmarks.md). Contributions held when the process dies are rebuilt
 * from the readings at the next start (docs/storage.md).
 */
export function createRollupAccumulator(
  db: Queryable,
  flushIntervalMs: number,
  logger: Logger,
  /** Persists the reading-time range whose rollups are not yet written (null: none). */
  persistDirty: (range: { fromMs: number; toMs: number } | null) => void = () => {},
) {
  let stats: StatsTree = new Map();
  // Reading-time range of contributions held (or being written), persisted before the
  // readings behind them are committed, so a crash leaves the range to rebuild.
  let dirty: { fromMs: number; toMs: number } | null = null;
  let heldRange: { fromMs: number; toMs: number } | null = null;
  let latest = new Map<string, { timeMs: number; data: Record<string, unknown> }>();
  let flushing: Promise<void> | null = null;
  const timer = setInterval(() => void flush(), flushIntervalMs).unref();
  const counters = { rollupFlushes: 0, rollupFlushErrors: 0 };

  /** The stats of one device's bucket, made when it has none yet. */
  function metricsOf(deviceId: string, bucket: number): Map<string, Stats> {
    let buckets = stats.get(deviceId);
    if (!buckets) stats.set(deviceId, (buckets = new Map()));
    let metrics = buckets.get(bucket);
    if (!metrics) buckets.set(bucket, (metrics = new Map()));
    return metrics;
  }

  function addStat(metrics: Map<string, Stats>, metric: string, x: number): void {
    const s = metrics.get(metric);
    if (!s) metrics.set(metric, { n: 1, sum: x, min: x, max: x });
    else {
      s.n++;
      s.sum += x;
      if (x < s.min) s.min = x;
      if (x > s.max) s.max = x;
    }
  }

  function mergeLatest(deviceId: string, timeMs: number, data: Record<string, unknown>): void {
    const l = latest.get(deviceId);
    if (!l) latest.set(deviceId, { timeMs, data: { ...data } });
    else if (timeMs >= l.timeMs) {
      Object.assign(l.data, data);
      l.timeMs = timeMs;
    } else {
      for (const k in data) if (!(k in l.data)) l.data[k] = data[k];
    }
  }

  async function write(s: StatsTree, l: typeof latest): Promise<void> {
    const r: RollupColumns = {
      deviceIds: [],
      metrics: [],
      bucketsMs: [],
      n: [],
      sum: [],
      min: [],
      max: [],
    };
    for (const [d, buckets] of s)
      for (const [b, metrics] of buckets)
        for (const [m, v] of metrics) {
          r.deviceIds.push(d);
          r.metrics.push(m);
          r.bucketsMs.push(b);
          r.n.push(v.n);
          r.sum.push(v.sum);
          r.min.push(v.min);
          r.max.push(v.max);
        }
    const lt = { deviceIds: [] as string[], timesMs: [] as number[], data: [] as string[] };
    for (const [d, v] of l) {
      lt.deviceIds.push(d);
      lt.timesMs.push(v.timeMs);
      lt.data.push(JSON.stringify(v.data));
    }
    await upsertRollups(db, r);
    await upsertLatest(db, lt);
  }

  function flush(): Promise<void> {
    if (flushing) return flushing;
    if (stats.size === 0 && latest.size === 0) return Promise.resolve();
    const s = stats;
    const l = latest;
    stats = new Map();
    latest = new Map();
    heldRange = null;
    flushing = write(s, l)
      .then(() => {
        counters.rollupFlushes++;
        // Written: only what arrived since the snapshot is still at risk.
        dirty = heldRange;
        persistDirty(dirty);
      })
      .catch((err: unknown) => {
        counters.rollupFlushErrors++;
        logger.warn({ err }, 'rollups not written; kept for the next flush');
        for (const [d, buckets] of s)
          for (const [b, metrics] of buckets) {
            const into = metricsOf(d, b);
            for (const [m, v] of metrics) {
              const cur = into.get(m);
              if (!cur) into.set(m, v);
              else {
                cur.n += v.n;
                cur.sum += v.sum;
                cur.min = Math.min(cur.min, v.min);
                cur.max = Math.max(cur.max, v.max);
              }
            }
          }
        for (const [d, v] of l) mergeLatest(d, v.timeMs, v.data);
      })
      .finally(() => {
        flushing = null;
      });
    return flushing;
  }

  return {
    counters,
    /** Called before a batch is committed: widens the persisted range to cover it. */
    beforeCommit(batch: ReadingColumns): void {
      let lo = Infinity;
      let hi = -Infinity;
      for (const t of batch.timesMs) {
        if (t < lo) lo = t;
        if (t > hi) hi = t;
      }
      if (lo > hi) return;
      heldRange = heldRange
        ? { fromMs: Math.min(heldRange.fromMs, lo), toMs: Math.max(heldRange.toMs, hi) }
        : { fromMs: lo, toMs: hi };
      if (dirty && lo >= dirty.fromMs && hi <= dirty.toMs) return;
      // Whole buckets: live readings widen the range (a file write) once a bucket, not every batch.
      lo -= lo % bucketMs;
      hi += bucketMs - 1 - (hi % bucketMs);
      dirty = dirty
        ? { fromMs: Math.min(dirty.fromMs, lo), toMs: Math.max(dirty.toMs, hi) }
        : { fromMs: lo, toMs: hi };
      persistDirty(dirty);
    },
    /** Counts the readings of a committed batch that were inserted (mask null: all). */
    add(batch: CommittedBatch, insertedMask: boolean[] | null): void {
      for (let i = 0; i < batch.deviceIds.length; i++) {
        if (insertedMask && !insertedMask[i]) continue;
        const deviceId = batch.deviceIds[i]!;
        const timeMs = batch.timesMs[i]!;
        // Parsed once by the decoder; only a batch replayed from the spool needs parsing.
        const data = batch.metrics?.[i] ?? (JSON.parse(batch.data[i]!) as Record<string, unknown>);
        const metrics = metricsOf(deviceId, timeMs - (timeMs % bucketMs));
        for (const metric in data) {
          const v = data[metric];
          if (typeof v === 'number') addStat(metrics, metric, v);
          else if (typeof v === 'boolean') addStat(metrics, metric, v ? 1 : 0);
        }
        mergeLatest(deviceId, timeMs, data);
      }
    },
    flush,
    /** Writes what is held; true when nothing is left in memory. */
    async stop(): Promise<boolean> {
      clearInterval(timer);
      while (flushing) await flushing;
      await flush();
      return stats.size === 0 && latest.size === 0;
    },
  };
}

export type RollupAccumulator = ReturnType<typeof createRollupAccumulator>;
