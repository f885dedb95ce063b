import type { Queryable } from './pool.js';

/** A batch in columns: the shape the insert sends, built without per-row objects. */
export interface ReadingColumns {
  readonly deviceIds: string[];
  readonly timesMs: number[];
  /** Each reading's metrics as JSON text. */
  readonly data: string[];
}

/**
 * One statement per batch: inserts the readings, and from the rows actually
 * inserted (the primary key (device_id, time) drops a retransmission or a
 * replay) updates the 5-minute rollups and each device's latest values. So a
 * batch written twice changes nothing the second time.
 */
export async function insertReadings(db: Queryable, batch: ReadingColumns): Promise<number> {
  if (batch.deviceIds.length === 0) return 0;
  const result = await db.query<{ inserted: number }>(
    `WITH ins AS (
       INSERT INTO telemetry (device_id, time, data)
       SELECT d, to_timestamp(t / 1000.0), v::jsonb
       FROM unnest($1::text[], $2::float8[], $3::text[]) AS r(d, t, v)
       ON CONFLICT DO NOTHING
       RETURNING device_id, time, data
     ), rollup AS (
       INSERT INTO telemetry_5m AS r (device_id, metric, bucket, n, sum, min, max)
       SELECT device_id, m.key, date_bin('5 minutes', time, TIMESTAMPTZ 'epoch'), count(*),
              sum(m.x), min(m.x), max(m.x)
       FROM ins, LATERAL (
         SELECT key, CASE jsonb_typeof(value) WHEN 'number' THEN value::float8
                                              ELSE (value = 'true'::jsonb)::int::float8 END AS x
         FROM jsonb_each(ins.data) WHERE jsonb_typeof(value) IN ('number', 'boolean')
       ) m
       -- Same lock order in every batch: concurrent batches wait, never deadlock.
       GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
       ON CONFLICT (device_id, metric, bucket) DO UPDATE SET
         n = r.n + EXCLUDED.n, sum = r.sum + EXCLUDED.sum,
         min = LEAST(r.min, EXCLUDED.min), max = GREATEST(r.max, EXCLUDED.max)
       RETURNING 1
     ), latest AS (
       INSERT INTO device_latest AS l (device_id, time, data)
       SELECT device_id, max(time), hub_jsonb_merge(data ORDER BY time) FROM ins
       GROUP BY device_id ORDER BY device_id
       ON CONFLICT (device_id) DO UPDATE SET
         time = GREATEST(l.time, EXCLUDED.time),
         data = CASE WHEN EXCLUDED.time >= l.time THEN l.data || EXCLUDED.data
                     ELSE EXCLUDED.data || l.data END
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM ins)::int AS inserted`,
    [batch.deviceIds, batch.timesMs, batch.data],
  );
  return result.rows[0]!.inserted;
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

/**
 * Aggregates from the 5-minute rollups into buckets of `bucketS` seconds (a
 * multiple of 300), for one device, or summed over the devices of a grid
 * prefix and/or facility type: a month of a district reads rollups, not readings.
 */
export async function queryBuckets(
  db: Queryable,
  q: {
    deviceId?: string;
    gridPrefix?: string;
    type?: string;
    metric?: string;
    fromMs: number;
    toMs: number;
    bucketS: number;
    limit: number;
  },
): Promise<BucketRow[]> {
  const perDevice = q.deviceId !== undefined;
  const { rows } = await db.query<BucketRow>(
    `SELECT date_bin(make_interval(secs => $6), r.bucket, TIMESTAMPTZ 'epoch') AS bucket,
            ${perDevice ? 'r.device_id' : 'NULL::text'} AS "deviceId", r.metric,
            sum(r.n)::int AS n, sum(r.sum) / sum(r.n) AS avg, min(r.min) AS min, max(r.max) AS max
     FROM telemetry_5m r JOIN devices d ON d.id = r.device_id
     WHERE r.bucket >= to_timestamp($1 / 1000.0) AND r.bucket < to_timestamp($2 / 1000.0)
       AND ($3::text IS NULL OR r.device_id = $3)
       AND ($4::text IS NULL OR d.grid_code LIKE $4 || '%')
       AND ($5::text IS NULL OR d.type = $5)
       AND ($7::text IS NULL OR r.metric = $7)
     GROUP BY 1, 2, 3 ORDER BY 1, 3 LIMIT $8`,
    [
      q.fromMs,
      q.toMs,
      q.deviceId ?? null,
      q.gridPrefix ?? null,
      q.type ?? null,
      q.bucketS,
      q.metric ?? null,
      q.limit,
    ],
  );
  return rows;
}
