import type { HubErrorCode } from '../domain/index.js';
import type { Queryable } from './pool.js';
import { storableText } from './storable.js';

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

/**
 * A dead letter's text as PostgreSQL can store it: bad input may carry NUL
 * characters and lone surrogates, in its payload and in reasons quoting it;
 * they become U+FFFD (a payload with a NUL was never valid JSON anyway).
 */
function storable(l: DeadLetter): DeadLetter {
  const payload = storableText(l.payload);
  const reason = storableText(l.reason);
  const topic = storableText(l.topic);
  const deviceId = l.deviceId === null ? null : storableText(l.deviceId);
  if (payload === l.payload && reason === l.reason && topic === l.topic && deviceId === l.deviceId)
    return l;
  return { ...l, payload, reason, topic, deviceId };
}

export async function insertDeadLetters(
  db: Queryable,
  letters: readonly DeadLetter[],
): Promise<void> {
  if (letters.length === 0) return;
  letters = letters.map(storable);
  await db.query(
    `INSERT INTO dead_letters (received_at, device_id, topic, code, reason, payload, payload_bytes)
     SELECT * FROM jsonb_to_recordset($1::jsonb) AS l(
       "receivedAt" timestamptz, "deviceId" text, topic text, code text, reason text, payload text, "payloadBytes" int)`,
    [JSON.stringify(letters)],
  );
}

export interface StoredDeadLetter extends DeadLetter {
  readonly id: number;
  readonly replayedAt: string | null;
}

const columns = `id, received_at AS "receivedAt", device_id AS "deviceId", topic, code, reason, payload,
  payload_bytes AS "payloadBytes", replayed_at AS "replayedAt"`;

export async function listDeadLetters(
  db: Queryable,
  q: { deviceId?: string; code?: string; sinceMs?: number; replayed?: boolean; limit: number },
): Promise<StoredDeadLetter[]> {
  const { rows } = await db.query<StoredDeadLetter>(
    `SELECT ${columns} FROM dead_letters
     WHERE ($1::text IS NULL OR device_id = $1) AND ($2::text IS NULL OR code = $2)
       AND ($3::float8 IS NULL OR received_at >= to_timestamp($3 / 1000.0))
       AND ($4::boolean IS NULL OR (replayed_at IS NOT NULL) = $4)
     ORDER BY id DESC LIMIT $5`,
    [q.deviceId ?? null, q.code ?? null, q.sinceMs ?? null, q.replayed ?? null, q.limit],
  );
  return rows;
}

export async function getDeadLetters(
  db: Queryable,
  ids: readonly number[],
): Promise<StoredDeadLetter[]> {
  const { rows } = await db.query<StoredDeadLetter>(
    `SELECT ${columns} FROM dead_letters WHERE id = ANY($1::bigint[]) ORDER BY id`,
    [ids],
  );
  return rows;
}

export async function markDeadLettersReplayed(
  db: Queryable,
  ids: readonly number[],
): Promise<void> {
  if (ids.length === 0) return;
  await db.query(`UPDATE dead_letters SET replayed_at = now() WHERE id = ANY($1::bigint[])`, [ids]);
}
