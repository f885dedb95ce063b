import { createHash, randomBytes } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyInstance, FastifyRequest, preHandlerHookHandler } from 'fastify';
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
import { HubError, type Actor } from '../domain/index.js';
import { cookieIsSecure, maskSecrets, type CookieSecure } from './http-config.js';

/** Cookie that carries the session token; HttpOnly and SameSite=Strict. */
export const sessionCookie = 'hub_session';

/** Routes that answer without a session: probes and the login itself. */
const openApiRoutes = new Set(['/api/health', '/api/auth/login']);

declare module 'fastify' {
  interface FastifyRequest {
    /** The logged-in user, or null. */
    user: UserRecord | null;
    /** Username a failed login tried, for the audit log. */
    auditUsername: string | null;
    /** SHA-256 of the request's session token, when it has a valid one. */
    sessionTokenHash: string | null;
  }
  interface FastifyInstance {
    requireRole: (...roles: string[]) => preHandlerHookHandler;
  }
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

function requestUser(request: FastifyRequest): UserRecord {
  if (!request.user) throw new HubError('HUB_ERR_UNAUTHENTICATED');
  return request.user;
}

/**
 * Sessions, the `requireRole` preHandler factory, login for every /api route
 * but the open ones, and the audit log: every change (any method but GET) and
 * every refusal (401, 403), with who, what, when and from where, and the
 * request body with its secrets masked.
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

  app.addHook('onRequest', async (request) => {
    const token = tokenFrom(request.headers.authorization, request.cookies);
    const session = await sessionForToken(db, token);
    request.user = session?.user ?? null;
    request.sessionTokenHash = session?.tokenHash ?? null;
    const path = request.url.split('?')[0]!;
    if (path.startsWith('/api/') && !openApiRoutes.has(path) && !request.user) {
      throw new HubError('HUB_ERR_UNAUTHENTICATED');
    }
  });

  app.decorate('requireRole', (...roles: string[]): preHandlerHookHandler => async (request) => {
    const user = requestUser(request);
    if (user.role !== 'admin' && roles.length > 0 && !roles.includes(user.role)) {
      throw new HubError('HUB_ERR_FORBIDDEN', `needs ${roles.join(' or ')}`);
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    if (!request.url.startsWith('/api/')) return;
    const status = reply.statusCode;
    const change = request.method !== 'GET' && request.method !== 'HEAD';
    const refused = status === 401 || status === 403 || status === 429;
    if (!change && !refused) return;
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
      target: params.id ?? params.deviceId ?? params.ruleId ?? null,
      outcome: status < 400 ? 'ok' : refused ? 'refused' : 'failed',
      status,
      ip: request.ip,
      detail: Object.keys(detail).length > 0 ? detail : null,
    }).catch((err: unknown) => logger.error({ err }, 'audit log write failed'));
  });
}
