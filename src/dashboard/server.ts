import { existsSync } from 'node:fs';
import type { LoginGuardOptions } from './login-guard.js';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyHelmet from '@fastify/helmet';
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Server as SocketServer } from 'socket.io';
import type { CaseFeed, CaseService, EvaluationService, ReportService } from '../cases/index.js';
import type { AlarmDesk, AlarmFeed } from '../rules/index.js';
import type { ReadingWatch } from '../ingest/index.js';
import {
  isDataException,
  sweepExpiredSessions,
  type EventFeed,
  type Queryable,
} from '../db/index.js';
import {
  isHubError,
  type ClientToServerEvents,
  type DeviceStatusChange,
  type ServerToClientEvents,
} from '../domain/index.js';
import type { Registry } from 'prom-client';
import { registerAlarmRoutes } from './alarm-routes.js';
import { registerAuditRoutes } from './audit-routes.js';
import { setupAuth } from './auth.js';
import { securityHeaders, tileOrigins } from './csp.js';
import { ajvOptions, setupInputChecks } from './input.js';
import { registerCalendarRoutes } from './calendar-routes.js';
import { registerCasePolicyRoutes } from './case-policy-routes.js';
import { registerCaseRoutes } from './case-routes.js';
import { registerCatalogRoutes } from './catalog-routes.js';
import { registerDeviceRoutes, type DeviceRouteDeps } from './device-routes.js';
import { registerEvaluationRoutes } from './evaluation-routes.js';
import { originAllowed, type CookieSecure, type TrustProxy } from './http-config.js';
import { registerKpiRoutes } from './kpi-routes.js';
import { listenOrExplain } from './listen.js';
import { attachDeviceLive } from './device-live.js';
import { attachLive, revalidateLiveSessions } from './live.js';
import { createLoginGuard, defaultLoginGuard } from './login-guard.js';
import { registerOrganisationRoutes } from './organisation-routes.js';
import { maxPhotoBytes } from './photos.js';
import { registerRoutingRoutes } from './routing-routes.js';
import { registerRulesRoutes, type RulesRoutesDeps } from './rules-routes.js';
import { registerServiceRoutes, type ServiceRouteDeps } from './service-routes.js';
import { registerSessionRoutes } from './session-routes.js';
import { createSessionEnds, type SessionEnds } from './sessions.js';
import { registerStorageRoutes, type StorageApiDeps } from './storage-routes.js';
import {
  attachGridLive,
  createGridParts,
  registerGridRoutes,
  type GridParts,
  type GridSettings,
} from './grid-routes.js';
import { registerTelemetryRoutes } from './telemetry-routes.js';
import { registerTokenRoutes } from './token-routes.js';
import { registerUserRoutes } from './user-routes.js';
import { registerWebhookRoutes } from './webhook-routes.js';

export interface DashboardOptions {
  readonly host: string;
  readonly port: number;
}

export interface DashboardDeps
  extends ServiceRouteDeps, StorageApiDeps, DeviceRouteDeps, RulesRoutesDeps {
  readonly db: Queryable;
  readonly cases: CaseService;
  /** Period indicators, scores and ranks; stored reports (issue #15). */
  readonly evaluation: EvaluationService;
  readonly reports: ReportService;
  /** Every node's case changes, in version order (socket.io). */
  readonly caseFeed: CaseFeed;
  /** Every node's alarm changes, in version order (socket.io, decision 0160). */
  readonly alarmFeed: AlarmFeed;
  /** Acknowledge, shelve, unshelve (REST). */
  readonly alarmDesk: AlarmDesk;
  /** Every node's device online/offline flips, in version order (decision 0162). */
  readonly deviceStatusFeed: EventFeed<DeviceStatusChange>;
  /** Readings of watched devices from the broker; absent: `device:watch` is refused. */
  readonly readingWatch?: ReadingWatch;
  /** Case photos go under `<dataDir>/photos` (issue #5); default: the OS temp dir. */
  readonly dataDir?: string;
  /** WEBHOOK_ALLOW_PRIVATE_TARGETS (default false). */
  readonly webhookAllowPrivateTargets?: boolean;
  readonly sessionTtlHours?: number;
  /** Login throttling and the bounded password-hash queue (login-guard.ts). */
  readonly loginGuard?: Partial<LoginGuardOptions>;
  /** How often expired sessions are deleted and live connections re-checked; default 1 min. */
  readonly sessionSweepIntervalMs?: number;
  /** `Secure` on the session cookie (default `auto`: when the request came over https). */
  readonly cookieSecure?: CookieSecure;
  /** Fastify's trustProxy: whose X-Forwarded-For/-Proto to believe (default: nobody's). */
  readonly trustProxy?: TrustProxy;
  /** Origins besides the hub's own whose pages may open socket.io (HTTP_ALLOWED_ORIGINS). */
  readonly allowedOrigins?: readonly string[];
  /** Where ended sessions are announced; buildApp makes one when not given. */
  readonly sessions?: SessionEnds;
  /** Shared Prometheus registry served at GET /metrics (#6). */
  readonly metricsRegistry?: Registry;
  /** Grid officers and citizens (issue #16): settings, or the parts createDashboard made. */
  readonly gridSettings?: GridSettings;
  readonly grid?: GridParts;
}

const gridPartsOf = (deps: DashboardDeps, logger: Logger): GridParts =>
  deps.grid ??
  createGridParts({
    db: deps.db,
    cases: deps.cases,
    logger,
    dataDir: deps.dataDir ?? os.tmpdir(),
    ...(deps.gridSettings ? { settings: deps.gridSettings } : {}),
  });

const publicDir = fileURLToPath(new URL('./public', import.meta.url));
/**
 * The built web UI (web/ → web/dist, issue #13), the same folder from src/ and
 * from the compiled dist/: both are two levels below the repository root.
 */
export const webDistDir = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/** Builds the Fastify app without listening, so tests can inject requests. */
export async function buildApp(deps: DashboardDeps, logger: Logger): Promise<FastifyInstance> {
  const sessions = deps.sessions ?? createSessionEnds();
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    trustProxy: deps.trustProxy ?? false,
    ajv: ajvOptions,
    // A control room polls; one log line per request would drown the ones that matter.
    logController: new LogController({ disableRequestLogging: true }),
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: unknown }, request, reply) => {
    if (isHubError(err)) {
      return reply.status(err.statusCode).send({ code: err.code, message: err.message });
    }
    // A PostgreSQL data exception (a value out of range, bad text) is bad input
    // the boundary missed: the caller's fault, never a 500 (issue #11).
    const pgDataError = isDataException(err);
    if (pgDataError) request.log.warn({ err }, 'bad input reached the database');
    // @fastify/multipart says 406 for a body that is not multipart: a content type, like 415.
    const status = pgDataError ? 400 : err.statusCode === 406 ? 415 : (err.statusCode ?? 500);
    if (status < 500) {
      const code =
        status === 413
          ? 'HUB_ERR_BODY_TOO_LARGE'
          : status === 415
            ? 'HUB_ERR_MEDIA_TYPE'
            : 'HUB_ERR_BAD_REQUEST';
      return reply.status(status).send({ code, message: err.message });
    }
    request.log.error({ err }, 'request failed');
    return reply.status(500).send({ code: 'HUB_ERR_INTERNAL', message: 'Internal error' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ code: 'HUB_ERR_NOT_FOUND', message: `No route ${request.method} ${request.url}` }),
  );

  // OpenAPI of every route with a schema, browsable at /docs (issue #5).
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Urban Facility Hub API', version: '0.1.0' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(
    fastifyHelmet,
    securityHeaders({ tileHosts: tileOrigins(deps.ui?.mapTileUrl) }),
  );
  await app.register(fastifyMultipart, { limits: { fileSize: maxPhotoBytes, files: 1 } });
  setupInputChecks(app);
  await setupAuth(app, deps.db, logger);

  // The Vue app at `/` (web/dist), then the classic pages (crew.html, classic.html)
  // until each is retired; the first root holding a file wins.
  const webBuilt = existsSync(path.join(webDistDir, 'index.html'));
  if (!webBuilt) {
    logger.warn(
      { webDistDir },
      'web UI not built: run `npm run build:web` (npm ci and npm start build it); serving the classic pages only',
    );
  }
  // The pages and the API docs answer without a session (the pages log in themselves).
  await app.register(async (open) => {
    open.addHook('onRoute', (route) => {
      route.config = { ...route.config, public: true };
    });
    await open.register(fastifySwaggerUi, { routePrefix: '/docs' });
    await open.register(fastifyStatic, {
      root: webBuilt ? [webDistDir, publicDir] : publicDir,
      prefix: '/',
      // A new build must show at once: index.html and the service worker are
      // revalidated; hashed assets are immutable.
      setHeaders: (res, file) => {
        if (file.includes(`${path.sep}assets${path.sep}`)) {
          res.setHeader('cache-control', 'public, max-age=31536000, immutable');
        } else res.setHeader('cache-control', 'no-cache');
      },
    });
    if (!webBuilt) open.get('/', (_req, reply) => reply.redirect('/classic.html'));
    // The classic admin page was retired into the web UI (issue #13); old bookmarks land there.
    open.get('/admin.html', (_req, reply) => reply.redirect('/#/admin'));
  });
  // One file per resource (issue #12), each its own plugin under /api: what one
  // adds (the CSV parser of the device import) stays with its routes.
  const db = deps.db;
  // Shared: a password reset by an admin lifts the login lockout of that user.
  const loginGuard = createLoginGuard(
    { ...defaultLoginGuard, ...deps.loginGuard },
    Date.now,
    ({ threads, nice, niced }) =>
      niced || nice === 0
        ? logger.info({ threads, nice }, 'password hashing threads started')
        : logger.warn(
            { threads, nice },
            'password hashing threads run at normal priority: this system does not let a thread lower its own',
          ),
  );
  app.addHook('onClose', () => loginGuard.close());
  const grid = gridPartsOf(deps, logger);
  const resources: ((api: FastifyInstance) => void)[] = [
    (api) => registerServiceRoutes(api, deps),
    (api) => registerDeviceRoutes(api, deps),
    (api) => registerTelemetryRoutes(api, deps),
    (api) => registerStorageRoutes(api, deps),
    (api) => registerAlarmRoutes(api, deps),
    (api) => registerRulesRoutes(api, deps),
    (api) =>
      registerSessionRoutes(api, {
        db,
        sessionTtlHours: deps.sessionTtlHours ?? 12,
        cookieSecure: deps.cookieSecure ?? 'auto',
        sessions,
        loginGuard,
      }),
    (api) => registerUserRoutes(api, { db, sessions, loginGuard }),
    (api) => registerAuditRoutes(api, { db }),
    (api) => registerTokenRoutes(api, { db, sessions }),
    (api) => registerOrganisationRoutes(api, { db }),
    (api) => registerRoutingRoutes(api, { db }),
    (api) => registerCasePolicyRoutes(api, { db }),
    (api) =>
      registerCaseRoutes(api, { db, cases: deps.cases, dataDir: deps.dataDir ?? os.tmpdir() }),
    (api) =>
      registerWebhookRoutes(api, {
        db,
        webhookAllowPrivateTargets: deps.webhookAllowPrivateTargets ?? false,
      }),
    (api) => registerKpiRoutes(api, { db, cases: deps.cases }),
    (api) =>
      registerEvaluationRoutes(api, {
        db,
        evaluation: deps.evaluation,
        reports: deps.reports,
        timeZone: deps.cases.timeZone,
      }),
    (api) => registerCalendarRoutes(api, { db, cases: deps.cases }),
    (api) => registerCatalogRoutes(api, deps),
    (api) => registerGridRoutes(api, grid, deps.metricsRegistry),
  ];
  for (const register of resources) {
    await app.register(async (api) => register(api), { prefix: '/api' });
  }
  const registry = deps.metricsRegistry;
  if (registry) {
    // Prometheus scrapes without a session (counters, no records); keep HTTP private or proxied.
    app.get('/metrics', { config: { public: true } }, async (_req, reply) =>
      reply.type(registry.contentType).send(await registry.metrics()),
    );
  }
  return app;
}

export async function createDashboard(
  deps: DashboardDeps,
  options: DashboardOptions,
  logger: Logger,
) {
  const sessions = deps.sessions ?? createSessionEnds();
  const grid = gridPartsOf(deps, logger);
  const app = await buildApp({ ...deps, sessions, grid }, logger);
  // Once closing, no new handshake: the pages reconnect at once after a server
  // disconnect, and a connection opened then would hold app.close() open.
  let closing = false;
  const io = new SocketServer<ClientToServerEvents, ServerToClientEvents>(app.server, {
    serveClient: true,
    cors: { origin: false },
    allowRequest: (req, done) => {
      if (closing) return done('the hub is shutting down', false);
      // A cross-site page may not ride the session cookie into the live feed (issue #11).
      if (!originAllowed(req, deps.trustProxy ?? false, deps.allowedOrigins ?? [])) {
        return done('origin not allowed', false);
      }
      done(null, true);
    },
  });

  attachLive(io, deps.db, deps.caseFeed, deps.alarmFeed, sessions, logger);
  attachGridLive(io, grid);
  const deviceLive = attachDeviceLive(
    io,
    deps.db,
    deps.deviceStatusFeed,
    deps.readingWatch,
    logger,
  );

  // Expired sessions go; live connections whose session ended elsewhere (another
  // hub process, an expiry) are told and closed.
  const sweep = setInterval(() => {
    sessions
      .exclusive(async () => {
        sessions.end(await sweepExpiredSessions(deps.db), 'expired');
        await revalidateLiveSessions(io, deps.db, sessions);
      })
      .catch((err: unknown) => logger.warn({ err }, 'session sweep failed'));
  }, deps.sessionSweepIntervalMs ?? 60_000);
  sweep.unref();

  let port: number;
  try {
    port = await listenOrExplain(app, options);
  } catch (err) {
    clearInterval(sweep);
    deviceLive.stop();
    throw err;
  }
  logger.info({ host: options.host, port }, 'HTTP and socket.io listening');

  return {
    app,
    io,
    port,
    async close(): Promise<void> {
      clearInterval(sweep);
      deviceLive.stop();
      closing = true;
      io.disconnectSockets(true);
      // Every engine connection (websockets included) ends, so the HTTP server can close.
      io.engine.close();
      await app.close();
    },
  };
}

export type Dashboard = Awaited<ReturnType<typeof createDashboard>>;
