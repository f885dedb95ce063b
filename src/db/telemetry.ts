import type { Queryable } from './pool.js';

/** A batch in columns: the shape the insert sends, built without per-row objects. */
export interface ReadingColumns {
  readonly deviceIds: string[];
  readonly timesMs: number[];
  /** Each reading's metrics as JSON text. */
  readonly data: string[];
}

/**
 * One statement per batch; the primary key (device_id, time) drops a
 * reading already stored (a retransmission or a replay), so retries are safe.
 */
export async function insertReadings(db: Queryable, batch: ReadingColumns): Promise<number> {
  if (batch.deviceIds.length === 0) return 0;
  const result = await db.query(
    `INSERT INTO telemetry (device_id, time, data)
     SELECT d, to_timestamp(t / 1000.0), v::jsonb
     FROM unnest($1::text[], $2::float8[], $3::text[]) AS r(d, t, v)
     ON CONFLICT DO NOTHING`,
    [batch.deviceIds, batch.timesMs, batch.data],
  );
  return result.rowCount ?? 0;
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
