import { createHash, randomBytes } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import {
  insertAudit,
  integrationTokenForHash,
  touchIntegrationToken,
  userForSession,
  type IntegrationToken,
  type Queryable,
  type UserRecord,
} from '../db/index.js';
import { HubError, roles as allRoles, type Actor } from '../domain/index.js';
import { cookieIsSecure, maskSecrets, type CookieSecure } from './http-config.js';

/** Cookie that carries the session token; HttpOnly and SameSite=Strict. */
export const sessionCookie = 'hub_session';

/** A user's role (docs/cases.md, "Users and roles"). */
export type UserRole = UserRecord['role'];

/** How a request proved its session: the cookie a browser sends by itself, or a bearer token. */
export type CredentialKind = 'cookie' | 'bearer';

declare module 'fastify' {
  interface FastifyRequest {
    /** The logged-in user, or null. */
    user: UserRecord | null;
    /** Username a failed login tried, for the audit log. */
    auditUsername: string | null;
    /** SHA-256 of the request's session token, when it has a valid one. */
    sessionTokenHash: string | null;
    /** How the session came (null: none); cookie-borne changes need the CSRF proof. */
    credential: CredentialKind | null;
  }
  interface FastifyContextConfig {
    /**
     * Answers without a session: probes, the login, the pages and the API docs.
     * Absent (the default): every request needs a session (decision 0125).
     */
    public?: boolean;
    /**
     * Roles that may call the route besides admin, set by `requireRole`; every
     * /api route that is not `public` names them (the app refuses to start otherwise).
     */
    roles?: readonly UserRole[];
  }
}

/**
 * A route's role rule, for its options: `{ ...requireRole('admin'), schema }`.
 * The gate checks it on the matched route before the body is even read. The
 * one way to say who may call a route: an /api route without it (and not
 * `public`) is refused when it is registered (`setupAuth`, issue #12).
 */
export function requireRole(...roles: UserRole[]): { config: { roles: readonly UserRole[] } } {
  // No role would read as "admin only"; say so with requireRole('admin').
  if (roles.length === 0) throw new Error('requireRole needs at least one role');
  return { config: { roles } };
}

/** Every logged-in user, whatever the role: screens read what they show. */
export const anyUser = requireRole(...allRoles);

/** Methods that change state: they are audited and, from a cookie, need the CSRF proof. */
export function changesState(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
}

/**
 * The CSRF proof of a cookie-borne change (decision 0126): a JSON body (a
 * cross-site form cannot send one without a CORS preflight the hub never
 * grants) or the `X-Hub-Request: 1` header (same reason).
 */
export function hasCsrfProof(headers: FastifyRequest['headers']): boolean {
  if (headers['x-hub-request'] === '1') return true;
  const type = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json';
}

export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Sessions are stored by the SHA-256 of their token, never the token itself. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Integration tokens (machines: Node-RED, a vendor's system) carry this prefix,
 * so a request's token is looked up in one table only, and a leaked one is
 * recognisable by secret scanners.
 */
export const integrationTokenPrefix = 'hubit_';

export function newIntegrationToken(): string {
  return integrationTokenPrefix + randomBytes(32).toString('base64url');
}

/**
 * The user a token acts as: negative ids never meet a person's, and the
 * `token:` username names it in the audit log and case timelines.
 */
export function integrationUser(t: IntegrationToken): UserRecord {
  return {
    id: -t.id,
    username: `token:${t.name}`,
    displayName: t.name,
    role: t.role,
    departmentId: null,
    crewId: null,
    areaCode: null,
    enabled: true,
    createdAt: t.createdAt,
    updatedAt: t.createdAt,
    passwordChangedAt: null,
    disabledAt: null,
  };
}

/** The actor of a request the role gate let through (a session or a token). */
export function requestActor(req: FastifyRequest): Actor {
  if (!req.user) throw new HubError('HUB_ERR_UNAUTHENTICATED');
  return actorOf(req.user);
}

export function actorOf(user: UserRecord): Actor {
  return {
    id: user.id,
    username: user.username,
    role: user.role,
    crewId: user.crewId,
    departmentId: user.departmentId,
    areaCode: user.areaCode,
  };
}

/** The token of a request: `Authorization: Bearer <token>` or the session cookie. */
export function tokenFrom(
  authorization: string | undefined,
  cookies: Record<string, string | undefined>,
): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  return m?.[1] ?? cookies[sessionCookie] ?? null;
}

/**
 * Who a request is: the one place a credential becomes a user (REST; the
 * socket.io handshake uses the same token rules): a session, or an
 * integration token (issue #14), which counts only as a bearer token.
 */
export async function resolveIdentity(
  db: Queryable,
  authorization: string | undefined,
  cookies: Record<string, string | undefined>,
): Promise<{ tokenHash: string; user: UserRecord; credential: CredentialKind } | null> {
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  const token = bearer ?? cookies[sessionCookie] ?? null;
  // A machine's token in a browser cookie is out of place: refuse it.
  if (!bearer && token?.startsWith(integrationTokenPrefix)) return null;
  const session = await sessionForToken(db, token);
  return session ? { ...session, credential: bearer ? 'bearer' : 'cookie' } : null;
}

/**
 * The session of a token: its hash (the key to end it by) and its user; an
 * integration token's user is the token itself (`integrationUser`).
 */
export async function sessionForToken(
  db: Queryable,
  token: string | null,
): Promise<{ tokenHash: string; user: UserRecord } | null> {
  if (!token || token.length > 200) return null;
  const tokenHash = hashToken(token);
  if (token.startsWith(integrationTokenPrefix)) {
    const t = await integrationTokenForHash(db, tokenHash);
    if (!t) return null;
    // Not awaited: a lost last-used time is harmless, a slower request is not.
    if (t.stale) touchIntegrationToken(db, t.id).catch(() => {});
    return { tokenHash, user: integrationUser(t) };
  }
  const user = await userForSession(db, tokenHash);
  return user ? { tokenHash, user } : null;
}

/**
 * The session cookie's attributes: HttpOnly, SameSite=Strict, and Secure per
 * COOKIE_SECURE (`auto`: when the request came over https, X-Forwarded-Proto
 * included when TRUST_PROXY trusts the proxy).
 */
export function sessionCookieOptions(
  request: FastifyRequest,
  secure: CookieSecure,
  expires?: Date,
): CookieSerializeOptions {
  return {
    httpOnly: true,
    sameSite: 'strict',
    path: '/',
    secure: cookieIsSecure(secure, request.protocol),
    ...(expires ? { expires } : {}),
  };
}

/** What the audit log keeps of a request body: secrets masked, text as its size. */
function auditBody(body: unknown): unknown {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return { bytes: Buffer.byteLength(body) };
  return maskSecrets(body);
}

/**
 * The gate (decision 0125): sessions, then on the MATCHED route (never the
 * raw URL, which the router decodes: `/%61pi/devices` is `/api/devices`) a
 * session unless the route says `public`, the route's roles, and the CSRF
 * proof of cookie-borne changes. An unmatched URL goes on to the 404 handler,
 * which answers nothing else. Then the audit log: every change (any method but
 * GET) and every refusal (401, 403, 429) of an /api route, with who, what,
 * when and from where, and the request body with its secrets masked.
 */
export async function setupAuth(
  app: FastifyInstance,
  db: Queryable,
  logger: Logger,
): Promise<void> {
  await app.register(fastifyCookie);
  app.decorateRequest('user', null);
  app.decorateRequest('auditUsername', null);
  app.decorateRequest('sessionTokenHash', null);
  app.decorateRequest('credential', null);

  // A route that forgot its roles would be open to every session: refuse it at start.
  app.addHook('onRoute', (route) => {
    const config = route.config as { public?: boolean; roles?: readonly UserRole[] } | undefined;
    if (!route.url.startsWith('/api/') || config?.public === true || config?.roles) return;
    throw new Error(
      `${String(route.method)} ${route.url} names no roles: add \`...requireRole(...)\` (or \`...anyUser\`) to its options, or \`config: { public: true }\``,
    );
  });

  app.addHook('onRequest', async (request) => {
    const identity = await resolveIdentity(db, request.headers.authorization, request.cookies);
    request.user = identity?.user ?? null;
    request.sessionTokenHash = identity?.tokenHash ?? null;
    request.credential = identity?.credential ?? null;
    if (request.is404) return;
    if (
      request.credential === 'cookie' &&
      changesState(request.method) &&
      !hasCsrfProof(request.headers)
    ) {
      throw new HubError('HUB_ERR_CSRF');
    }
    if (request.routeOptions.config.public !== true && !request.user) {
      throw new HubError('HUB_ERR_UNAUTHENTICATED');
    }
  });

  // Roles once the body is read, so a refusal's audit row shows what was tried.
  app.addHook('preHandler', async (request) => {
    const roles = request.routeOptions.config.roles;
    const user = request.user;
    if (roles && user && user.role !== 'admin' && !roles.includes(user.role)) {
      throw new HubError('HUB_ERR_FORBIDDEN', `needs ${roles.join(' or ')}`);
    }
  });

  // Before the answer leaves, so a client (an integrator, a test) that reads the
  // audit log after its answer always finds its row; a write failure is logged, not answered.
  app.addHook('onSend', async (request, reply, payload) => {
    // The matched route, so `/%61pi/...` is audited as what it reached.
    if (!request.routeOptions.url?.startsWith('/api/')) return payload;
    const status = reply.statusCode;
    const change = changesState(request.method);
    const refused = status === 401 || status === 403 || status === 429;
    if (!change && !refused) return payload;
    const params = (request.params ?? {}) as Record<string, string>;
    const body = change ? auditBody(request.body) : undefined;
    const detail = {
      ...(params.action ? { action: params.action } : {}),
      ...(body !== undefined ? { body } : {}),
    };
    await insertAudit(db, {
      userId: request.user?.id ?? null,
      username: request.user?.username ?? request.auditUsername,
      role: request.user?.role ?? null,
      action: `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`,
      // Params are coerced by their schema (an integer id is a number): the row keeps text.
      target: ((t) => (t === undefined ? null : String(t)))(
        params.id ?? params.deviceId ?? params.ruleId,
      ),
      outcome: status < 400 ? 'ok' : refused ? 'refused' : 'failed',
      status,
      ip: request.ip,
      detail: Object.keys(detail).length > 0 ? detail : null,
    }).catch((err: unknown) => logger.error({ err }, 'audit log write failed'));
    return payload;
  });
}
