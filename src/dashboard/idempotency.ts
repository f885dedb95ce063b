import { createHash } from 'node:crypto';
import type {
  FastifyReply,
  FastifyRequest,
  onSendHookHandler,
  preHandlerHookHandler,
} from 'fastify';
import {
  claimIdempotencyKey,
  releaseIdempotencyKey,
  storeIdempotentResponse,
  type Queryable,
} from '../db/index.js';
import { HubError } from '../domain/index.js';

/** The request header (IETF draft "The Idempotency-Key HTTP Header Field"). */
export const idempotencyHeader = 'idempotency-key';
/** Printable ASCII, e.g. a UUID the client made when it queued the action. */
const keyPattern = /^[\x21-\x7e]{1,200}$/;

/**
 * `Idempotency-Key` for the routes a client may have to retry without
 * knowing whether the first try landed (issue #13: the crew app's offline
 * queue, Node-RED's `case action`). Per user: the first request's status and
 * body are stored (24 h) and a retry with the same key gets them again,
 * marked `Idempotent-Replayed: true`; the same key with another method, path
 * or body is a 422; while the first is still running, a 409. A server error
 * frees the key so the retry runs again. Without the header, nothing changes.
 */
export function createIdempotency(db: Queryable) {
  const claims = new WeakMap<FastifyRequest, { userId: number; key: string }>();

  const preHandler: preHandlerHookHandler = async (req: FastifyRequest, reply: FastifyReply) => {
    const header = req.headers[idempotencyHeader];
    if (header === undefined) return;
    const key = Array.isArray(header) ? header[0] : header;
    if (!key || !keyPattern.test(key)) {
      throw new HubError('HUB_ERR_BAD_REQUEST', 'Idempotency-Key: 1 to 200 printable characters');
    }
    if (!req.user) throw new HubError('HUB_ERR_UNAUTHENTICATED');
    const hash = createHash('sha256')
      .update(`${req.method} ${req.url}\n${JSON.stringify(req.body ?? null)}`)
      .digest('hex');
    const claim = await claimIdempotencyKey(db, req.user.id, key, hash);
    switch (claim.kind) {
      case 'claimed':
        claims.set(req, { userId: req.user.id, key });
        return;
      case 'mismatch':
        throw new HubError('HUB_ERR_IDEMPOTENCY_MISMATCH');
      case 'in_progress':
        throw new HubError('HUB_ERR_IDEMPOTENCY_IN_PROGRESS');
      case 'replay':
        return reply
          .status(claim.status)
          .header('idempotent-replayed', 'true')
          .type('application/json; charset=utf-8')
          .send(claim.body);
    }
  };

  const onSend: onSendHookHandler = async (req, reply, payload) => {
    const claim = claims.get(req);
    if (!claim) return payload;
    claims.delete(req);
    if (reply.statusCode >= 500 || typeof payload !== 'string') {
      await releaseIdempotencyKey(db, claim.userId, claim.key);
    } else {
      await storeIdempotentResponse(db, claim.userId, claim.key, reply.statusCode, payload);
    }
    return payload;
  };

  return { preHandler, onSend };
}

export type Idempotency = ReturnType<typeof createIdempotency>;
