import type { Queryable } from './pool.js';

export interface WebhookRecord {
  readonly id: number;
  readonly url: string;
  readonly secret: string;
  readonly events: string[];
  readonly enabled: boolean;
}

export interface WebhookDelivery {
  readonly id: number;
  readonly webhookId: number;
  readonly event: string;
  readonly payload: unknown;
  readonly status: 'pending' | 'delivered' | 'dead';
  readonly attempts: number;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
}

export async function insertWebhook(
  db: Queryable,
  w: { url: string; secret: string; events: string[] },
): Promise<WebhookRecord> {
  const { rows } = await db.query<WebhookRecord>(
    `INSERT INTO webhooks (url, secret, events) VALUES ($1, $2, $3)
     RETURNING id, url, secret, events, enabled`,
    [w.url, w.secret, w.events],
  );
  return rows[0]!;
}

export async function listWebhooks(db: Queryable): Promise<WebhookRecord[]> {
  const { rows } = await db.query<WebhookRecord>(
    `SELECT id, url, secret, events, enabled FROM webhooks ORDER BY id`,
  );
  return rows;
}

export async function insertDelivery(
  db: Queryable,
  d: { webhookId: number; event: string; payload: unknown },
): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO webhook_deliveries (webhook_id, event, payload) VALUES ($1, $2, $3) RETURNING id`,
    [d.webhookId, d.event, JSON.stringify(d.payload)],
  );
  return rows[0]!.id;
}

export async function recordAttempt(
  db: Queryable,
  id: number,
  a: { status: 'pending' | 'delivered' | 'dead'; httpStatus: number | null; error: string | null },
): Promise<void> {
  await db.query(
    `UPDATE webhook_deliveries SET attempts = attempts + 1, status = $2, last_status = $3,
       last_error = $4, updated_at = now() WHERE id = $1`,
    [id, a.status, a.httpStatus, a.error],
  );
}

export async function listDeliveries(
  db: Queryable,
  q: { status?: string; limit: number },
): Promise<WebhookDelivery[]> {
  const { rows } = await db.query<WebhookDelivery>(
    `SELECT id, webhook_id AS "webhookId", event, payload, status, attempts,
            last_status AS "lastStatus", last_error AS "lastError"
     FROM webhook_deliveries WHERE ($1::text IS NULL OR status = $1) ORDER BY id DESC LIMIT $2`,
    [q.status ?? null, q.limit],
  );
  return rows;
}

/** Deliveries left pending (the hub stopped between retries), with their webhook. */
/** Pending deliveries nobody has touched for `idleForMs` (0: all of them). */
export async function pendingDeliveries(
  db: Queryable,
  idleForMs = 0,
): Promise<
  {
    id: number;
    attempts: number;
    event: string;
    payload: Record<string, unknown>;
    url: string;
    secret: string;
  }[]
> {
  const { rows } = await db.query(
    `SELECT d.id, d.attempts, d.event, d.payload, w.url, w.secret
     FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
     WHERE d.status = 'pending' AND w.enabled
       AND d.updated_at <= now() - make_interval(secs => $1 / 1000.0)
     ORDER BY d.id`,
    [idleForMs],
  );
  return rows as {
    id: number;
    attempts: number;
    event: string;
    payload: Record<string, unknown>;
    url: string;
    secret: string;
  }[];
}
