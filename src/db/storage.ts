import type { Logger } from 'pino';
import type { DatabaseCapabilities } from './capabilities.js';
import type { Queryable } from './pool.js';
import { areaSettleMs } from './telemetry.js';

export interface StoragePolicy {
  /** TimescaleDB: compress telemetry chunks older than this (segmented by device). */
  readonly compressAfterDays: number;
  /** Drop readings older than this; 0 keeps them (evidence for monthly evaluation). */
  readonly retentionDays: number;
}

/** Plain PostgreSQL: daily partitions prepared this many days ahead. */
export const partitionsAheadDays = 7;

const day = 86_400_000;
const partitionName = (ms: number) =>
  `telemetry_p${new Date(ms).toISOString().slice(0, 10).replaceAll('-', '')}`;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Applies what each kind of server can do (docs/storage.md): TimescaleDB gets
 * compression, a retention policy and an hourly continuous aggregate; the
 * Apache build and plain PostgreSQL get retention (and partitions) from
 * `maintainStorage`, which the hub runs hourly. Safe to run at every start.
 */
export async function applyStoragePolicies(
  db: Queryable,
  caps: DatabaseCapabilities,
  policy: StoragePolicy,
  logger: Logger,
): Promise<void> {
  if (caps.kind === 'timescaledb') {
    await db.query(`ALTER TABLE telemetry SET (timescaledb.compress,
      timescaledb.compress_segmentby = 'device_id', timescaledb.compress_orderby = 'time DESC')`);
    await db.query(`ALTER TABLE telemetry_5m SET (timescaledb.compress,
      timescaledb.compress_segmentby = 'device_id, metric', timescaledb.compress_orderby = 'bucket DESC')`);
    for (const table of ['telemetry', 'telemetry_5m']) {
      await db.query(`SELECT remove_compression_policy($1, if_exists => true)`, [table]);
      await db.query(`SELECT add_compression_policy($1, make_interval(days => $2))`, [
        table,
        Math.max(1, policy.compressAfterDays),
      ]);
    }
    await db.query(`SELECT remove_retention_policy('telemetry', if_exists => true)`);
    if (policy.retentionDays > 0) {
      await db.query(`SELECT add_retention_policy('telemetry', make_interval(days => $1))`, [
        policy.retentionDays,
      ]);
    }
    // Hourly rollups for Grafana and long ranges, kept current by TimescaleDB itself.
    await db.query(`CREATE MATERIALIZED VIEW IF NOT EXISTS telemetry_1h
      WITH (timescaledb.continuous) AS
      SELECT time_bucket('1 hour', bucket) AS bucket, device_id, metric,
             sum(n)::bigint AS n, sum(sum) AS sum, min(min) AS min, max(max) AS max
      FROM telemetry_5m GROUP BY 1, 2, 3 WITH NO DATA`);
    await db.query(`SELECT add_continuous_aggregate_policy('telemetry_1h',
      start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour',
      schedule_interval => INTERVAL '30 minutes', if_not_exists => true)`);
  }
  await maintainStorage(db, caps, policy, Date.now(), logger);
  logger.info({ kind: caps.kind, ...policy }, 'storage policies applied');
}

const hour = 3_600_000;
/** Hours re-rolled at every refresh: late readings and devices that moved grid within them are caught. */
export const areaRerollDays = 3;

/**
 * Rolls `telemetry_5m` joined with `devices` up into `telemetry_area_1h` from
 * the watermark (at most `areaRerollDays` back) to the last settled hour, in
 * one statement: hours are overwritten, groups that no longer exist (a device
 * moved grid) are removed, and the watermark advances, all or nothing.
 * Late 5-minute rollups lower the watermark (`lowerAreaWatermark`), so their
 * hours are read from the join until rolled up again.
 * Returns the new watermark (null: no rollups yet, or lowered meanwhile).
 */
export async function refreshAreaRollups(db: Queryable, nowMs: number): Promise<number | null> {
  const toMs = Math.floor((nowMs - areaSettleMs) / hour) * hour;
  const { rows } = await db.query<{ through: number | null }>(
    `WITH span AS (
       SELECT date_bin('1 hour', CASE WHEN w.through IS NULL THEN (SELECT min(bucket) FROM telemetry_5m)
                                      ELSE least(w.through, to_timestamp($1 / 1000.0) - make_interval(days => $2)) END,
                       TIMESTAMPTZ 'epoch') AS lo,
              to_timestamp($1 / 1000.0) AS hi, w.through AS read
       FROM (SELECT (SELECT through FROM rollup_watermarks WHERE name = 'telemetry_area_1h') AS through) w
     ), fresh AS (
       SELECT date_bin('1 hour', r.bucket, TIMESTAMPTZ 'epoch') AS bucket, d.grid_code, d.type, r.metric,
              sum(r.n)::bigint AS n, sum(r.sum) AS sum, min(r.min) AS min, max(r.max) AS max
       FROM telemetry_5m r JOIN devices d ON d.id = r.device_id, span
       WHERE r.bucket >= span.lo AND r.bucket < span.hi
       GROUP BY 1, 2, 3, 4
     ), written AS (
       INSERT INTO telemetry_area_1h AS a (bucket, grid_code, type, metric, n, sum, min, max)
       SELECT * FROM fresh ORDER BY 1, 2, 3, 4
       ON CONFLICT (bucket, grid_code, type, metric) DO UPDATE SET
         n = EXCLUDED.n, sum = EXCLUDED.sum, min = EXCLUDED.min, max = EXCLUDED.max
       RETURNING 1
     ), stale AS (
       DELETE FROM telemetry_area_1h a USING span
       WHERE a.bucket >= span.lo AND a.bucket < span.hi
         AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.bucket = a.bucket AND f.grid_code = a.grid_code
                                                  AND f.type = a.type AND f.metric = a.metric)
       RETURNING 1
     ), mark AS (
       INSERT INTO rollup_watermarks (name, through)
       SELECT 'telemetry_area_1h', span.hi FROM span WHERE span.lo IS NOT NULL
       ON CONFLICT (name) DO UPDATE SET through = GREATEST(rollup_watermarks.through, EXCLUDED.through)
         -- Lowered meanwhile by late readings this snapshot did not see: the next refresh takes them.
         WHERE rollup_watermarks.through IS NOT DISTINCT FROM (SELECT read FROM span)
       RETURNING through
     )
     SELECT (extract(epoch FROM (SELECT max(through) FROM mark)) * 1000)::float8 AS through,
            (SELECT count(*) FROM written) AS written, (SELECT count(*) FROM stale) AS removed`,
    [toMs, areaRerollDays],
  );
  return rows[0]?.through ?? null;
}

/** Hourly: partitions ahead and retention where the server does not do it itself. */
export async function maintainStorage(
  db: Queryable,
  caps: DatabaseCapabilities,
  policy: StoragePolicy,
  nowMs: number,
  logger: Logger,
): Promise<{ created: string[]; dropped: string[] }> {
  const created: string[] = [];
  const dropped: string[] = [];
  if (caps.kind === 'postgresql') {
    const today = Math.floor(nowMs / day) * day;
    for (let d = -1; d <= partitionsAheadDays; d++) {
      const from = today + d * day;
      const name = partitionName(from);
      try {
        const r = await db.query(`SELECT to_regclass($1) IS NULL AS missing`, [name]);
        if (!r.rows[0].missing) continue;
        await db.query(
          `CREATE TABLE ${name} PARTITION OF telemetry FOR VALUES FROM ('${isoDay(from)}') TO ('${isoDay(from + day)}')`,
        );
        created.push(name);
      } catch (err) {
        // Rows of that day already sit in the default partition: they stay there, still queried.
        logger.warn({ err, partition: name }, 'partition not created');
      }
    }
    if (policy.retentionDays > 0) {
      const cutoff = isoDay(today - policy.retentionDays * day).replaceAll('-', '');
      const { rows } = await db.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'telemetry'::regclass AND c.relname ~ '^telemetry_p[0-9]{8}$'`,
      );
      for (const { name } of rows) {
        if (name.slice('telemetry_p'.length) < cutoff) {
          await db.query(`DROP TABLE ${name}`);
          dropped.push(name);
        }
      }
      await db.query(`DELETE FROM telemetry_default WHERE time < to_timestamp($1 / 1000.0)`, [
        today - policy.retentionDays * day,
      ]);
    }
  } else if (caps.kind === 'timescaledb-apache' && policy.retentionDays > 0) {
    // The Apache build has no policy jobs; drop_chunks itself is Apache-licensed.
    await db.query(`SELECT drop_chunks('telemetry', older_than => make_interval(days => $1))`, [
      policy.retentionDays,
    ]);
  }
  if (created.length || dropped.length)
    logger.info({ created, dropped }, 'telemetry partitions maintained');
  return { created, dropped };
}
