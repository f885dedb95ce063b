import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Server as SocketServer } from 'socket.io';
import type { CaseService } from '../cases/index.js';
import { openCasesSnapshot, type Queryable } from '../db/index.js';
import {
  HubError,
  isHubError,
  type ClientToServerEvents,
  type ServerToClientEvents,
} from '../domain/index.js';
import { registerApiRoutes, type ApiDeps } from './routes.js';
import { registerRulesRoutes, type RulesRoutesDeps } from './rules-routes.js';

export interface DashboardOptions {
  readonly host: string;
  readonly port: number;
}

export interface DashboardDeps extends ApiDeps, RulesRoutesDeps {
  readonly db: Queryable;
  readonly cases: CaseService;
}

const publicDir = fileURLToPath(new URL('./public', import.meta.url));

/** Operators' room on socket.io; issue #5 splits it by role, district and crew. */
const operatorsRoom = 'operators';

/** Builds the Fastify app without listening, so tests can inject requests. */
export async function buildApp(deps: DashboardDeps, logger: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // A control room polls; one log line per request would drown the ones that matter.
    logController: new LogController({ disableRequestLogging: true }),
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, request, reply) => {
    if (isHubError(err)) {
      return reply.status(err.statusCode).send({ code: err.code, message: err.message });
    }
    const status = err.statusCode ?? 500;
    if (status < 500) {
      return reply.status(status).send({ code: 'HUB_ERR_BAD_REQUEST', message: err.message });
    }
    request.log.error({ err }, 'request failed');
    return reply.status(500).send({ code: 'HUB_ERR_INTERNAL', message: 'Internal error' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ code: 'HUB_ERR_NOT_FOUND', message: `No route ${request.method} ${request.url}` }),
  );

  await app.register(fastifyStatic, { root: publicDir, prefix: '/' });
  await app.register(async (api) => registerApiRoutes(api, deps), { prefix: '/api' });
  await app.register(async (api) => registerRulesRoutes(api, deps), { prefix: '/api' });
  return app;
}

export async function createDashboard(
  deps: DashboardDeps,
  options: DashboardOptions,
  logger: Logger,
) {
  const app = await buildApp(deps, logger);
  const io = new SocketServer<ClientToServerEvents, ServerToClientEvents>(app.server, {
    serveClient: true,
    cors: { origin: false },
  });

  io.on('connection', (socket) => {
    void socket.join(operatorsRoom);
    openCasesSnapshot(deps.db).then(
      (snapshot) => socket.emit('cases:snapshot', snapshot),
      (err: unknown) => logger.error({ err }, 'case snapshot failed'),
    );
  });
  deps.cases.onChange((change) => io.to(operatorsRoom).emit('case:changed', change));

  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    await app.close().catch(() => {});
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new HubError(
        'HUB_ERR_PORT_IN_USE',
        `HTTP ${options.host}:${options.port} is taken; set HTTP_PORT to a free port`,
      );
    }
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  logger.info({ host: options.host, port }, 'HTTP and socket.io listening');

  return {
    app,
    io,
    port,
    async close(): Promise<void> {
      io.disconnectSockets(true);
      await app.close();
    },
  };
}

export type Dashboard = Awaited<ReturnType<typeof createDashboard>>;
