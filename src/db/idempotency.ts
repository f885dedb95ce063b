import type { Queryable } from './pool.js';

/** How long a key's response is kept (issue #13: a phone may stay offline for a shift). */
export const idempotencyKeepHours = 24;
/** A first request that never answered (its process died) frees its key after this. */
export const idempotencyAbandonedS = 300;

export type IdempotencyClaim =
  | { readonly kind: 'claimed' }
  | { readonly kind: 'replay'; readonly status: number; readonly body: string }
  | { readonly kind: 'mismatch' }
  | { readonly kind: 'in_progress' };

/**
 * Claims `key` for the user's request, or tells what it was used for: the
 * stored response (replay), another request (mismatch), or a first request
 * still being processed. An expired or abandoned claim is taken over.
 */
export async function claimIdempotencyKey(
  db: Queryable,
  userId: number,
  key: string,
  requestHash: string,
): Promise<IdempotencyClaim> {
  const { rows } = await db.query<{
    claimed: boolean;
    requestHash: string;
    status: number | null;
    body: string | null;
  }>(
    `INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES ($1, $2, $3)
     ON CONFLICT (user_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,
       status = NULL, body = NULL, created_at = now()
     WHERE idempotency_keys.created_at < now() - make_interval(hours => $4)
        OR (idempotency_keys.status IS NULL
            AND idempotency_keys.created_at < now() - make_interval(secs => $5))
     RETURNING true AS claimed, request_hash AS "requestHash", status, body`,
    [userId, key, requestHash, idempotencyKeepHours, idempotencyAbandonedS],
  );
  if (rows[0]) return { kind: 'claimed' };
  const { rows: held } = await db.query<{
    requestHash: string;
    status: number | null;
    body: string | null;
  }>(
    `SELECT request_hash AS "requestHash", status, body FROM idempotency_keys
     WHERE user_id = $1 AND key = $2`,
    [userId, key],
  );
  const h = held[0];
  // Gone between the two statements (pruned): claim it again.
  if (!h) return claimIdempotencyKey(db, userId, key, requestHash);
  if (h.requestHash !== requestHash) return { kind: 'mismatch' };
  if (h.status === null) return { kind: 'in_progress' };
  return { kind: 'replay', status: h.status, body: h.body ?? '' };
}

/** Stores the response of a claimed key. */
export async function storeIdempotentResponse(
  db: Queryable,
  userId: number,
  key: string,
  status: number,
  body: string,
): Promise<void> {
  await db.query(
    `UPDATE idempotency_keys SET status = $3, body = $4 WHERE user_id = $1 AND key = $2`,
    [userId, key, status, body],
  );
}

/** Frees a claimed key (the request failed with a server error: a retry should run again). */
export async function releaseIdempotencyKey(
  db: Queryable,
  userId: number,
  key: string,
): Promise<void> {
  await db.query(
    `DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status IS NULL`,
    [userId, key],
  );
}

/** Keys older than the keep time go (the leader's maintenance). */
export async function pruneIdempotencyKeys(db: Queryable): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)`,
    [idempotencyKeepHours],
  );
  return rowCount ?? 0;
}
