import fastifyHelmet from '@fastify/helmet';
import Fastify from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { securityHeaders } from './csp.js';
import { listenOrExplain } from './listen.js';

/**
 * The HTTP of a process without the dashboard (`--role broker|worker`): only
 * `GET /api/health` and `GET /metrics`, for probes and Prometheus.
 */
export async function createOpsServer(
  health: () => Record<string, unknown>,
  registry: Registry,
  options: { host: string; port: number },
  logger: Logger,
) {
  const app = Fastify({ logger: false });
  await app.register(fastifyHelmet, securityHeaders());
  app.get('/api/health', async () => health());
  app.get('/metrics', async (_req, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );
  const port = await listenOrExplain(app, options);
  logger.info({ host: options.host, port }, 'health and metrics listening');
  return { port, close: () => app.close() };
}
