import type { HubErrorCode } from '../domain/index.js';
import type { Queryable } from './pool.js';

export interface DeadLetter {
  readonly receivedAt: string;
  readonly deviceId: string | null;
  readonly topic: string;
  readonly code: HubErrorCode;
  readonly reason: string;
  /** Truncated to dead-letter storage size; payloadBytes is the original size. */
  readonly payload: string;
  readonly payloadBytes: number;
}

export async function insertDeadLetters(
  db: Queryable,
  letters: readonly DeadLetter[],
): Promise<void> {
  if (letters.length === 0) return;
  await db.query(
    `INSERT INTO dead_letters (received_at, device_id, topic, code, reason, payload, payload_bytes)
     SELECT * FROM jsonb_to_recordset($1::jsonb) AS l(
       "receivedAt" timestamptz, "deviceId" text, topic text, code text, reason text, payload text, "payloadBytes" int)`,
    [JSON.stringify(letters)],
  );
}

export async function listDeadLetters(
  db: Queryable,
  q: { deviceId?: string; code?: string; limit: number },
): Promise<(DeadLetter & { id: number })[]> {
  const { rows } = await db.query<DeadLetter & { id: number }>(
    `SELECT id, received_at AS "receivedAt", device_id AS "deviceId", topic, code, reason, payload,
            payload_bytes AS "payloadBytes"
     FROM dead_letters
     WHERE ($1::text IS NULL OR device_id = $1) AND ($2::text IS NULL OR code = $2)
     ORDER BY id DESC LIMIT $3`,
    [q.deviceId ?? null, q.code ?? null, q.limit],
  );
  return rows;
}
