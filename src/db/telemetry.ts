import type { Queryable } from './pool.js';

/** A batch in columns: the shape the insert sends, built without per-row objects. */
export interface ReadingColumns {
  readonly deviceIds: string[];
  readonly timesMs: number[];
  /** Each reading's metrics as JSON text. */
  readonly data: string[];
}

/**
 * One statement per batch; the primary key (device_id, time) drops a reading
 * already stored (a retransmission or a replay). Returns which rows were
 * inserted, so rollups count each reading once: `null` when all were.
 */
export async function insertReadings(
  db: Queryable,
  batch: ReadingColumns,
): Promise<{ inserted: number; insertedMask: boolean[] | null }> {
  if (batch.deviceIds.length === 0) return { inserted: 0, insertedMask: null };
  const result = await db.query<{ d: string; t: number }>(
    `INSERT INTO telemetry (device_id, time, data)
     SELECT d, to_timestamp(t / 1000.0), v::jsonb
     FROM unnest($1::text[], $2::float8[], $3::text[]) AS r(d, t, v)
     ON CONFLICT DO NOTHING
     RETURNING device_id AS d, round(extract(epoch FROM time) * 1000)::float8 AS t`,
    [batch.deviceIds, batch.timesMs, batch.data],
  );
  const inserted = result.rowCount ?? 0;
  if (inserted === batch.deviceIds.length) return { inserted, insertedMask: null };
  const keys = new Set(result.rows.map((r) => `${r.d}\u0001${r.t}`));
  const insertedMask = batch.deviceIds.map((d, i) => {
    const k = `${d}\u0001${batch.timesMs[i]}`;
    // A batch may repeat a reading; only its first copy was inserted.
    return keys.delete(k);
  });
  return { inserted, insertedMask };
}

/** 5-minute rollup contributions in columns (one row per device, metric and bucket). */
export interface RollupColumns {
  readonly deviceIds: string[];
  readonly metrics: string[];
  readonly bucketsMs: number[];
  readonly n: number[];
  readonly sum: number[];
  readonly min: number[];
  readonly max: number[];
}

/** Hours this close to now are not in the area rollup: their 5-minute rollups may still be in a hub's memory. */
export const areaSettleMs = 10 * 60_000;
const hourMs = 3_600_000;

/**
 * Sends the hours from `fromMs` on back to the join until the area rollup is
 * refreshed: after 5-minute rollups changed behind its watermark.
 */
export async function lowerAreaWatermark(db: Queryable, fromMs: number): Promise<void> {
  await db.query(lowerAreaWatermarkSql('$1'), [fromMs]);
}
const lowerAreaWatermarkSql = (fromMs: string) =>
  `UPDATE rollup_watermarks SET through = date_bin('1 hour', to_timestamp(${fromMs} / 1000.0), TIMESTAMPTZ 'epoch')
   WHERE name = 'telemetry_area_1h' AND through > to_timestamp(${fromMs} / 1000.0)`;

/**
 * Adds contributions to the rollups; rows sorted by key, so concurrent writers
 * never deadlock. Contributions to hours the area rollup may hold already (a
 * backlog) lower its watermark; live ones cost nothing more.
 */
export async function upsertRollups(db: Queryable, r: RollupColumns): Promise<void> {
  if (r.deviceIds.length === 0) return;
  let oldest = Infinity;
  for (const b of r.bucketsMs) if (b < oldest) oldest = b;
  const behindArea = oldest < Math.floor((Date.now() - areaSettleMs) / hourMs) * hourMs;
  const upsert = `INSERT INTO telemetry_5m AS r (device_id, metric, bucket, n, sum, min, max)
     SELECT d, m, to_timestamp(b / 1000.0), n, s, lo, hi
     FROM unnest($1::text[], $2::text[], $3::float8[], $4::int[], $5::float8[], $6::float8[], $7::float8[])
       AS x(d, m, b, n, s, lo, hi)
     ORDER BY d, m, b
     ON CONFLICT (device_id, metric, bucket) DO UPDATE SET
       n = r.n + EXCLUDED.n, sum = r.sum + EXCLUDED.sum,
       min = LEAST(r.min, EXCLUDED.min), max = GREATEST(r.max, EXCLUDED.max)`;
  const columns = [r.deviceIds, r.metrics, r.bucketsMs, r.n, r.sum, r.min, r.max];
  if (!behindArea) {
    await db.query(upsert, columns);
    return;
  }
  // One statement: a crash between the upsert and the lowering would leave hours
  // rolled up without these contributions, past the reach of later refreshes.
  await db.query(`WITH up AS (${upsert}) ${lowerAreaWatermarkSql('$8')}`, [...columns, oldest]);
}

/** Merges the latest metrics of devices: newer values win, older ones only fill gaps. */
export async function upsertLatest(
  db: Queryable,
  l: { deviceIds: string[]; timesMs: number[]; data: string[] },
): Promise<void> {
  if (l.deviceIds.length === 0) return;
  await db.query(
    `INSERT INTO device_latest AS l (device_id, time, data)
     SELECT d, to_timestamp(t / 1000.0), v::jsonb FROM unnest($1::text[], $2::float8[], $3::text[]) AS x(d, t, v)
     ORDER BY d
     ON CONFLICT (device_id) DO UPDATE SET
       time = GREATEST(l.time, EXCLUDED.time),
       data = CASE WHEN EXCLUDED.time >= l.time THEN l.data || EXCLUDED.data ELSE EXCLUDED.data || l.data END`,
    [l.deviceIds, l.timesMs, l.data],
  );
}

/**
 * Recomputes the rollups and latest values of a time range from the stored
 * readings: after an unclean stop lost the contributions held in memory.
 */
export async function rebuildRollups(db: Queryable, fromMs: number, toMs: number): Promise<void> {
  const from = Math.floor(fromMs / 300_000) * 300_000;
  await db.query(
    `DELETE FROM telemetry_5m WHERE bucket >= to_timestamp($1 / 1000.0) AND bucket < to_timestamp($2 / 1000.0)`,
    [from, toMs],
  );
  await db.query(
    `INSERT INTO telemetry_5m (device_id, metric, bucket, n, sum, min, max)
     SELECT device_id, m.key, date_bin('5 minutes', time, TIMESTAMPTZ 'epoch'), count(*), sum(m.x), min(m.x), max(m.x)
     FROM telemetry, LATERAL (
       SELECT key, CASE jsonb_typeof(value) WHEN 'number' THEN value::float8
                                            ELSE (value = 'true'::jsonb)::int::float8 END AS x
       FROM jsonb_each(data) WHERE jsonb_typeof(value) IN ('number', 'boolean')
     ) m
     WHERE time >= to_timestamp($1 / 1000.0) AND time < to_timestamp($2 / 1000.0)
     GROUP BY 1, 2, 3`,
    [from, toMs],
  );
  await lowerAreaWatermark(db, from);
  await db.query(
    `INSERT INTO device_latest AS l (device_id, time, data)
     SELECT device_id, max(time), hub_jsonb_merge(data ORDER BY time) FROM telemetry
     WHERE time >= to_timestamp($1 / 1000.0) AND time < to_timestamp($2 / 1000.0)
     GROUP BY device_id
     ON CONFLICT (device_id) DO UPDATE SET
       time = GREATEST(l.time, EXCLUDED.time),
       data = CASE WHEN EXCLUDED.time >= l.time THEN l.data || EXCLUDED.data ELSE EXCLUDED.data || l.data END`,
    [from, toMs],
  );
}

export interface StoredReading {
  readonly time: string;
  readonly data: Record<string, unknown>;
}

export async function queryReadings(
  db: Queryable,
  q: { deviceId: string; fromMs: number; toMs: number; limit: number },
): Promise<StoredReading[]> {
  const { rows } = await db.query<StoredReading>(
    `SELECT time, data FROM telemetry
     WHERE device_id = $1 AND time >= to_timestamp($2 / 1000.0) AND time <= to_timestamp($3 / 1000.0)
     ORDER BY time DESC LIMIT $4`,
    [q.deviceId, q.fromMs, q.toMs, q.limit],
  );
  return rows;
}

export interface LatestValues {
  readonly deviceId: string;
  readonly time: string;
  readonly data: Record<string, unknown>;
}

export async function queryLatest(
  db: Queryable,
  q: { deviceIds?: string[]; gridPrefix?: string; type?: string; limit: number },
): Promise<LatestValues[]> {
  const { rows } = await db.query<LatestValues>(
    `SELECT l.device_id AS "deviceId", l.time, l.data
     FROM device_latest l JOIN devices d ON d.id = l.device_id
     WHERE ($1::text[] IS NULL OR l.device_id = ANY($1))
       AND ($2::text IS NULL OR d.grid_code LIKE $2 || '%')
       AND ($3::text IS NULL OR d.type = $3)
     ORDER BY l.device_id LIMIT $4`,
    [q.deviceIds ?? null, q.gridPrefix ?? null, q.type ?? null, q.limit],
  );
  return rows;
}

export interface BucketRow {
  readonly bucket: string;
  readonly deviceId: string | null;
  readonly metric: string;
  readonly n: number;
  readonly avg: number;
  readonly min: number;
  readonly max: number;
}

export interface BucketQuery {
  deviceId?: string;
  gridPrefix?: string;
  type?: string;
  metric?: string;
  fromMs: number;
  toMs: number;
  bucketS: number;
  limit: number;
}

const areaFilter = (t: string) => `($3::text IS NULL OR ${t}.grid_code LIKE $3 || '%')
       AND ($4::text IS NULL OR ${t}.type = $4) AND ($5::text IS NULL OR r.metric = $5)`;

/**
 * Aggregates from the 5-minute rollups into buckets of `bucketS` seconds (a
 * multiple of 300), for one device, or summed over the devices of a grid
 * prefix and/or facility type: a month of a district reads rollups, not readings.
 * Area series in whole hours read the hourly area rollup for the hours it
 * holds and the 5-minute rollups for the rest (docs/storage.md).
 */
export async function queryBuckets(db: Queryable, q: BucketQuery): Promise<BucketRow[]> {
  if (q.deviceId === undefined && q.bucketS % 3600 === 0) return queryAreaBuckets(db, q);
  const { rows } = await db.query<BucketRow>(
    `SELECT date_bin(make_interval(secs => $6), r.bucket, TIMESTAMPTZ 'epoch') AS bucket,
            ${q.deviceId !== undefined ? 'r.device_id' : 'NULL::text'} AS "deviceId", r.metric,
            sum(r.n)::int AS n, sum(r.sum) / sum(r.n) AS avg, min(r.min) AS min, max(r.max) AS max
     FROM telemetry_5m r JOIN devices d ON d.id = r.device_id
     WHERE r.bucket >= to_timestamp($1 / 1000.0) AND r.bucket < to_timestamp($2 / 1000.0)
       AND ($7::text IS NULL OR r.device_id = $7) AND ${areaFilter('d')}
     GROUP BY 1, 2, 3 ORDER BY 1, 3 LIMIT $8`,
    [
      q.fromMs,
      q.toMs,
      q.gridPrefix ?? null,
      q.type ?? null,
      q.metric ?? null,
      q.bucketS,
      q.deviceId ?? null,
      q.limit,
    ],
  );
  return rows;
}

/**
 * Whole hours from the range's first full hour up to the area rollup's
 * watermark come from `telemetry_area_1h`; the edges and the hours not yet
 * rolled up from `telemetry_5m` joined with `devices`, as before.
 */
async function queryAreaBuckets(db: Queryable, q: BucketQuery): Promise<BucketRow[]> {
  const mark = await db.query<{ through: number }>(
    `SELECT (extract(epoch FROM through) * 1000)::float8 AS through
     FROM rollup_watermarks WHERE name = 'telemetry_area_1h'`,
  );
  // Bounds as parameters, not read in the statement, so each part is a plain time-range scan.
  const loMs = Math.ceil(q.fromMs / hourMs) * hourMs;
  const hiMs = Math.max(
    loMs,
    Math.min(Math.floor(q.toMs / hourMs) * hourMs, mark.rows[0]?.through ?? -Infinity),
  );
  const joined = (from: string, to: string) =>
    `SELECT r.bucket, r.metric, r.n, r.sum, r.min, r.max
     FROM telemetry_5m r JOIN devices d ON d.id = r.device_id
     WHERE r.bucket >= to_timestamp(${from} / 1000.0) AND r.bucket < to_timestamp(${to} / 1000.0)
       AND ${areaFilter('d')}`;
  const { rows } = await db.query<BucketRow>(
    `WITH parts AS (
       SELECT r.bucket, r.metric, r.n, r.sum, r.min, r.max FROM telemetry_area_1h r
       WHERE r.bucket >= to_timestamp($7 / 1000.0) AND r.bucket < to_timestamp($8 / 1000.0)
         AND ${areaFilter('r')}
       UNION ALL ${joined('$1', '$9')}
       UNION ALL ${joined('$8', '$2')}
     )
     SELECT date_bin(make_interval(secs => $6), bucket, TIMESTAMPTZ 'epoch') AS bucket,
            NULL::text AS "deviceId", metric,
            sum(n)::int AS n, sum(sum) / sum(n) AS avg, min(min) AS min, max(max) AS max
     FROM parts GROUP BY 1, 2, 3 ORDER BY 1, 3 LIMIT $10`,
    [
      q.fromMs,
      q.toMs,
      q.gridPrefix ?? null,
      q.type ?? null,
      q.metric ?? null,
      q.bucketS,
      loMs,
      hiMs,
      Math.min(loMs, q.toMs),
      q.limit,
    ],
  );
  return rows;
}

/** Latest readings newer than `sinceMs`, for the node that runs the fleet-wide rules. */
export async function latestSince(
  db: Queryable,
  sinceMs: number,
): Promise<{ deviceId: string; timeMs: number; data: Record<string, unknown> }[]> {
  const { rows } = await db.query<{
    deviceId: string;
    timeMs: number;
    data: Record<string, unknown>;
  }>(
    `SELECT device_id AS "deviceId", (extract(epoch FROM time) * 1000)::float8 AS "timeMs", data
     FROM device_latest WHERE time > to_timestamp($1 / 1000.0)`,
    [sinceMs],
  );
  return rows;
}
