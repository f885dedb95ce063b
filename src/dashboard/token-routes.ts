import type { FastifyInstance } from 'fastify';
import {
  insertIntegrationToken,
  listIntegrationTokens,
  revokeIntegrationToken,
  type Queryable,
} from '../db/index.js';
import { HubError, deviceIdPatternSource } from '../domain/index.js';
import { hashToken, newIntegrationToken, requireRole } from './auth.js';
import type { SessionEnds } from './sessions.js';

export interface TokenRouteDeps {
  readonly db: Queryable;
  readonly sessions: SessionEnds;
}

const tokenSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    role: { type: 'string' },
    createdBy: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
    lastUsedAt: { type: ['string', 'null'] },
    revokedAt: { type: ['string', 'null'] },
    revokedBy: { type: ['string', 'null'] },
  },
} as const;

/**
 * Integration tokens (issue #14): named, long-lived bearer tokens for machines,
 * created and revoked by an admin. The token is shown once; the hub keeps its
 * SHA-256. Creation, revocation and every change a token makes are in the
 * audit log (the token's username is `token:<name>`).
 */
export function registerTokenRoutes(api: FastifyInstance, deps: TokenRouteDeps): void {
  api.get<{ Querystring: { revoked?: boolean } }>(
    '/integration-tokens',
    {
      ...requireRole('admin'),
      schema: {
        tags: ['admin'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { revoked: { type: 'boolean' } },
        },
        response: {
          200: { type: 'object', properties: { tokens: { type: 'array', items: tokenSchema } } },
        },
      },
    },
    async (request) => ({ tokens: await listIntegrationTokens(deps.db, !!request.query.revoked) }),
  );

  api.post<{ Body: { name: string; role: 'viewer' | 'operator' } }>(
    '/integration-tokens',
    {
      ...requireRole('admin'),
      schema: {
        tags: ['admin'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'role'],
          properties: {
            // A name has a device id's shape: safe in logs, the audit log and `token:<name>`.
            name: { type: 'string', pattern: deviceIdPatternSource },
            role: { enum: ['viewer', 'operator'] },
          },
        },
        response: {
          201: {
            type: 'object',
            properties: { token: { type: 'string' }, integrationToken: tokenSchema },
          },
        },
      },
    },
    async (request, reply) => {
      const token = newIntegrationToken();
      const created = await insertIntegrationToken(deps.db, {
        name: request.body.name,
        role: request.body.role,
        tokenHash: hashToken(token),
        createdBy: request.user?.username ?? null,
      });
      if (!created) {
        throw new HubError('HUB_ERR_EXISTS', `a live token is named ${request.body.name}`);
      }
      return reply.status(201).send({ token, integrationToken: created });
    },
  );

  api.delete<{ Params: { id: number } }>(
    '/integration-tokens/:id',
    {
      ...requireRole('admin'),
      schema: {
        tags: ['admin'],
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'integer', minimum: 1 } },
        },
      },
    },
    async (request, reply) => {
      const revoked = await revokeIntegrationToken(
        deps.db,
        request.params.id,
        request.user?.username ?? null,
      );
      if (!revoked) throw new HubError('HUB_ERR_NOT_FOUND', 'no live token with this id');
      // Its live connections close at once, here and (NOTIFY) on the other API processes.
      deps.sessions.end([revoked.tokenHash], 'revoked');
      return reply.status(204).send();
    },
  );
}
