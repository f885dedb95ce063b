import type { FastifyInstance } from 'fastify';
import { checkWebhookUrl, maskUrl } from '../cases/index.js';
import { insertWebhook, listDeliveries, listWebhooks, type Queryable } from '../db/index.js';
import { generateSecret } from '../domain/index.js';
import { requireRole } from './auth.js';

export interface WebhookRouteDeps {
  readonly db: Queryable;
  /** WEBHOOK_ALLOW_PRIVATE_TARGETS: webhooks to loopback and private addresses. */
  readonly webhookAllowPrivateTargets: boolean;
}

/** Webhooks and their deliveries (docs/api.md; docs/cases.md, "Webhooks"). */
export function registerWebhookRoutes(api: FastifyInstance, deps: WebhookRouteDeps): void {
  const { db } = deps;

  api.get('/webhooks', { ...requireRole('admin'), schema: { tags: ['webhooks'] } }, async () => ({
    // Never the secret; a URL stored with user:password before 0131 is shown masked.
    webhooks: (await listWebhooks(db)).map((w) => ({
      ...w,
      url: maskUrl(w.url),
      secret: undefined,
    })),
  }));

  api.post<{ Body: { url: string; events?: string[]; secret?: string } }>(
    '/webhooks',
    {
      ...requireRole('admin'),
      schema: {
        tags: ['webhooks'],
        body: {
          type: 'object',
          required: ['url'],
          additionalProperties: false,
          properties: {
            url: { type: 'string', pattern: '^https?://', maxLength: 2000 },
            events: {
              type: 'array',
              items: { type: 'string', pattern: '^(case\\.[a-z_*]+|report\\.(generated|\\*))$' },
            },
            secret: { type: 'string', minLength: 16 },
          },
        },
      },
    },
    async (req, reply) => {
      await checkWebhookUrl(req.body.url, deps.webhookAllowPrivateTargets);
      const hook = await insertWebhook(db, {
        url: req.body.url,
        events: req.body.events ?? [],
        secret: req.body.secret ?? generateSecret(),
      });
      // The secret is shown once, at creation.
      return reply.status(201).send({ ...hook, url: maskUrl(hook.url) });
    },
  );

  api.get<{ Querystring: { status?: string; limit: number } }>(
    '/webhooks/deliveries',
    {
      ...requireRole('admin'),
      schema: {
        tags: ['webhooks'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { enum: ['pending', 'delivered', 'dead'] },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        },
      },
    },
    async (req) => ({ deliveries: await listDeliveries(db, req.query) }),
  );
}
