import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
import {
  insertDelivery,
  listWebhooks,
  pendingDeliveries,
  recordAttempt,
  type Queryable,
} from '../db/index.js';
import type { CaseChange } from './cases.js';
import { maskUrl, publicOnlyLookup, refuseLiteralTarget } from './webhook-targets.js';

/** `sha256=<hex>` of the raw body under the webhook's secret (GitHub-style, easy to check). */
export function signPayload(secret: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

export interface WebhookOptions {
  readonly maxAttempts: number;
  /** First retry after this, doubling each time. */
  readonly backoffMs: number;
  readonly timeoutMs?: number;
  /** WEBHOOK_ALLOW_PRIVATE_TARGETS: deliver to loopback, private and link-local addresses too. */
  readonly allowPrivateTargets?: boolean;
}

/**
 * One POST, resolving to the HTTP status. Redirects are not followed (a 3xx
 * is a failure: a redirect could point anywhere). Without `allowPrivate` the
 * connection goes only to a public address checked by `publicOnlyLookup`,
 * the same one the socket connects to (decision 0131).
 */
function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  allowPrivate: boolean,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    if (!allowPrivate) refuseLiteralTarget(u);
    const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(
      u,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        // A fresh connection per delivery: a pooled socket would skip the address check.
        agent: false,
        ...(allowPrivate ? {} : { lookup: publicOnlyLookup }),
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          clearTimeout(deadline);
          resolve(res.statusCode ?? 0);
        });
        res.on('error', reject);
      },
    );
    // The whole exchange, not only an idle socket: a receiver dripping bytes is cut off too.
    const deadline = setTimeout(
      () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on('error', (err) => {
      clearTimeout(deadline);
      reject(err);
    });
    req.end(body);
  });
}

/**
 * Outbound notifications for SMS, WeCom or DingTalk gateways: every case change
 * is POSTed, HMAC-signed, to each enabled webhook subscribed to its event
 * (`case.<action>`, or all when the list is empty). A failure (network error or
 * non-2xx) is retried with exponential backoff; after the last attempt the
 * delivery is marked `dead` (the dead-letter record). Retries wait in memory;
 * deliveries left `pending` when the hub stopped resume at the next start.
 */
export function createWebhookService(db: Queryable, logger: Logger, options: WebhookOptions) {
  const timers = new Map<NodeJS.Timeout, () => void>();
  const inFlight = new Set<Promise<void>>();
  /** Deliveries this node is attempting or waiting to retry: never picked up twice. */
  const ownIds = new Set<number>();
  let stopped = false;

  async function attempt(
    deliveryId: number,
    url: string,
    secret: string,
    event: string,
    body: string,
    n: number,
  ): Promise<void> {
    let httpStatus: number | null = null;
    let error: string | null = null;
    try {
      httpStatus = await post(
        url,
        {
          'content-type': 'application/json',
          'x-hub-event': event,
          'x-hub-delivery': String(deliveryId),
          'x-hub-signature-256': signPayload(secret, body),
        },
        body,
        options.timeoutMs ?? 10_000,
        options.allowPrivateTargets ?? false,
      );
      if (httpStatus >= 200 && httpStatus < 300) {
        await recordAttempt(db, deliveryId, { status: 'delivered', httpStatus, error: null });
        return;
      }
      error = `HTTP ${httpStatus}`;
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    const last = n >= options.maxAttempts || stopped;
    await recordAttempt(db, deliveryId, { status: last ? 'dead' : 'pending', httpStatus, error });
    if (last) {
      logger.warn(
        { deliveryId, url: maskUrl(url), attempts: n, error },
        'webhook delivery dead-lettered',
      );
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(
        () => {
          timers.delete(timer);
          resolve();
        },
        options.backoffMs * 2 ** (n - 1),
      );
      timers.set(timer, resolve);
    });
    if (stopped) return;
    return attempt(deliveryId, url, secret, event, body, n + 1);
  }

  /**
   * `case.<action>` and `report.generated`. A hook with no events gets every
   * case event, as it did before reports existed; reports only when asked for.
   */
  async function deliver(event: string, payload: Record<string, unknown>): Promise<void> {
    const family = `${event.slice(0, event.indexOf('.'))}.*`;
    const hooks = (await listWebhooks(db)).filter(
      (h) =>
        h.enabled &&
        ((h.events.length === 0 && family === 'case.*') ||
          h.events.includes(event) ||
          h.events.includes(family)),
    );
    // One slow or failing receiver must not hold up the others.
    await Promise.all(
      hooks.map(async (hook) => {
        const id = await insertDelivery(db, { webhookId: hook.id, event, payload });
        ownIds.add(id);
        await attempt(id, hook.url, hook.secret, event, JSON.stringify({ id, ...payload }), 1);
        ownIds.delete(id);
      }),
    );
  }

  function track(p: Promise<void>): void {
    const tracked = p.catch((err: unknown) => logger.error({ err }, 'webhook delivery failed'));
    inFlight.add(tracked);
    void tracked.finally(() => inFlight.delete(tracked));
  }

  return {
    onCaseChange(change: CaseChange): void {
      if (stopped) return;
      const event = `case.${change.action}`;
      track(
        deliver(event, {
          event,
          at: change.case.updatedAt,
          reason: change.reason,
          case: change.case,
        }),
      );
    },
    /** Any other event (`report.generated`): the same signing, retries and dead letters. */
    notify(event: string, at: string, data: Record<string, unknown>): void {
      if (stopped) return;
      track(deliver(event, { event, at, ...data }));
    },
    /**
     * Picks up deliveries left pending, continuing their attempt count: by a
     * previous run, or (`idleForMs` > 0, on the leader of a cluster) by a node
     * that went away, i.e. untouched for longer than any node waits between
     * attempts.
     */
    resumePending(idleForMs = 0): Promise<void> {
      const picked = pendingDeliveries(db, idleForMs).then(async (rows) => {
        await Promise.all(
          rows
            .filter((d) => !ownIds.has(d.id))
            .map(async (d) => {
              ownIds.add(d.id);
              await attempt(
                d.id,
                d.url,
                d.secret,
                d.event,
                JSON.stringify({ id: d.id, ...d.payload }),
                d.attempts + 1,
              ).finally(() => ownIds.delete(d.id));
            }),
        );
      });
      track(picked);
      return picked.catch(() => {});
    },
    /** The longest a live node leaves one of its deliveries untouched (its last backoff, plus a timeout). */
    idleLimitMs: (): number =>
      options.backoffMs * 2 ** Math.max(0, options.maxAttempts - 2) +
      2 * (options.timeoutMs ?? 10_000),
    /** Resolves when every delivery started so far has succeeded or died. */
    async settled(): Promise<void> {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    stop(): void {
      stopped = true;
      for (const [t, resolve] of timers) {
        clearTimeout(t);
        resolve();
      }
      timers.clear();
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
