import type { FastifyInstance } from 'fastify';
import { listDeadLetters, type Queryable } from '../db/index.js';
import type { ReplayOutcome } from '../ingest/index.js';
import { anyUser, requireRole } from './auth.js';
import { page, parseTime } from './query.js';

export interface StorageApiDeps {
  readonly db: Queryable;
  readonly replayDeadLetters: (ids: readonly number[]) => Promise<ReplayOutcome[]>;
}

/** What storage refused: the dead letters, and their replay once the cause is fixed (docs/api.md, docs/storage.md). */
export function registerStorageRoutes(api: FastifyInstance, deps: StorageApiDeps): void {
  const { db } = deps;

  api.get<{
    Querystring: {
      deviceId?: string;
      code?: string;
      since?: string;
      replayed?: boolean;
      limit: number;
    };
  }>(
    '/dead-letters',
    {
      ...anyUser,
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            deviceId: { type: 'string' },
            code: { type: 'string' },
            since: { type: 'string' },
            replayed: { type: 'boolean' },
            limit: page.limit,
          },
        },
      },
    },
    async (req) => {
      const { since, ...rest } = req.query;
      const sinceMs = since === undefined ? undefined : parseTime(since, 'since', 0);
      return { deadLetters: await listDeadLetters(db, { ...rest, sinceMs }) };
    },
  );

  api.post<{ Body: { ids: number[] } }>(
    '/dead-letters/replay',
    {
      // Replaying writes readings: operators and admins, who fix device configuration.
      ...requireRole('operator'),
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['ids'],
          properties: {
            ids: {
              type: 'array',
              minItems: 1,
              maxItems: 10000,
              items: { type: 'integer', minimum: 1 },
            },
          },
        },
      },
    },
    async (req) => ({ outcomes: await deps.replayDeadLetters(req.body.ids) }),
  );
}
