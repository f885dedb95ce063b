import type { FastifyInstance } from 'fastify';
import { listAudit, type AuditQuery, type Queryable } from '../db/index.js';
import { requireRole } from './auth.js';

/** The audit log: every change and every refusal of an /api route (auth.ts, docs/api.md "Auth"). */
export function registerAuditRoutes(api: FastifyInstance, deps: { db: Queryable }): void {
  const { db } = deps;

  api.get<{ Querystring: AuditQuery }>(
    '/audit',
    {
      ...requireRole('supervisor'),
      schema: {
        tags: ['auth'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            username: { type: 'string' },
            action: { type: 'string', maxLength: 200 },
            target: { type: 'string', maxLength: 200 },
            outcome: { enum: ['ok', 'refused', 'failed'] },
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            offset: { type: 'integer', minimum: 0, default: 0 },
          },
        },
      },
    },
    async (req) => ({ entries: await listAudit(db, req.query) }),
  );
}
