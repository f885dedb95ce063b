import type { FastifyInstance } from 'fastify';
import {
  insertSession,
  insertUser,
  listAudit,
  listUsers,
  userForLogin,
  deleteSession,
  type Queryable,
} from '../db/index.js';
import { HubError, hashSecret, secretCost, verifySecret } from '../domain/index.js';
import { hashToken, newSessionToken, sessionCookie, tokenFrom } from './auth.js';

export interface AuthRouteDeps {
  readonly db: Queryable;
  readonly sessionTtlHours: number;
}

const userSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    username: { type: 'string' },
    displayName: { type: 'string' },
    role: { type: 'string' },
    departmentId: { type: ['string', 'null'] },
    crewId: { type: ['string', 'null'] },
    areaCode: { type: ['string', 'null'] },
  },
} as const;

/** Failed logins per username allowed in the window before further attempts are refused. */
const maxFailures = 5;
const failureWindowMs = 15 * 60_000;

/** A hash to verify against when the user does not exist, so both answers take as long. */
let dummyHash: Promise<string> | null = null;

/** Login, logout, me, users and the audit log (docs/api.md, "Auth"). */
export function registerAuthRoutes(api: FastifyInstance, deps: AuthRouteDeps): void {
  const { db } = deps;
  // Password guessing: per username, in memory (one hub process); cleared by a good login.
  const failures = new Map<string, { count: number; since: number }>();

  api.post<{ Body: { username: string; password: string } }>(
    '/auth/login',
    {
      schema: {
        tags: ['auth'],
        body: {
          type: 'object',
          required: ['username', 'password'],
          additionalProperties: false,
          properties: {
            username: { type: 'string', minLength: 1, maxLength: 100 },
            password: { type: 'string', minLength: 1, maxLength: 200 },
          },
        },
      },
    },
    async (req, reply) => {
      req.auditUsername = req.body.username;
      const key = req.body.username.toLowerCase();
      const seen = failures.get(key);
      if (seen && Date.now() - seen.since > failureWindowMs) failures.delete(key);
      if ((failures.get(key)?.count ?? 0) >= maxFailures) {
        throw new HubError('HUB_ERR_TOO_MANY_LOGINS');
      }
      const user = await userForLogin(db, req.body.username);
      dummyHash ??= hashSecret('not-a-password', secretCost.password);
      const ok = await verifySecret(req.body.password, user?.passwordHash ?? (await dummyHash));
      if (!user || !ok || !user.enabled) {
        const f = failures.get(key) ?? { count: 0, since: Date.now() };
        failures.set(key, { count: f.count + 1, since: f.since });
        throw new HubError('HUB_ERR_LOGIN_FAILED');
      }
      failures.delete(key);
      const token = newSessionToken();
      const expiresAt = new Date(Date.now() + deps.sessionTtlHours * 3600_000);
      await insertSession(db, {
        tokenHash: hashToken(token),
        userId: user.id,
        expiresAt: expiresAt.toISOString(),
        ip: req.ip,
      });
      req.user = user;
      void reply.setCookie(sessionCookie, token, {
        httpOnly: true,
        sameSite: 'strict',
        path: '/',
        expires: expiresAt,
      });
      const { passwordHash: _hash, ...safe } = user;
      return { token, expiresAt: expiresAt.toISOString(), user: safe };
    },
  );

  api.post('/auth/logout', { schema: { tags: ['auth'] } }, async (req, reply) => {
    const token = tokenFrom(req.headers.authorization, req.cookies);
    if (token) await deleteSession(db, hashToken(token));
    void reply.clearCookie(sessionCookie, { path: '/' });
    return { ok: true };
  });

  api.get('/auth/me', { schema: { tags: ['auth'] } }, async (req) => ({ user: req.user }));

  api.get(
    '/users',
    { preHandler: api.requireRole('admin'), schema: { tags: ['auth'] } },
    async () => ({ users: await listUsers(db) }),
  );

  api.post<{
    Body: {
      username: string;
      password: string;
      displayName?: string;
      role: string;
      crewId?: string;
      departmentId?: string;
      areaCode?: string;
    };
  }>(
    '/users',
    {
      preHandler: api.requireRole('admin'),
      schema: {
        tags: ['auth'],
        body: {
          type: 'object',
          required: ['username', 'password', 'role'],
          additionalProperties: false,
          properties: {
            username: { type: 'string', pattern: '^[A-Za-z0-9_.-]{2,64}$' },
            password: { type: 'string', minLength: 10, maxLength: 200 },
            displayName: { type: 'string', maxLength: 100 },
            role: { enum: ['admin', 'operator', 'supervisor', 'crew', 'viewer'] },
            crewId: { type: 'string' },
            departmentId: { type: 'string' },
            areaCode: { type: 'string', pattern: '^\\d{6}$' },
          },
        },
        response: { 201: userSchema },
      },
    },
    async (req, reply) => {
      const b = req.body;
      if (b.role === 'crew' && !b.crewId) {
        throw new HubError('HUB_ERR_BAD_REQUEST', 'a crew user needs crewId');
      }
      const user = await insertUser(db, {
        username: b.username,
        displayName: b.displayName ?? b.username,
        role: b.role,
        passwordHash: await hashSecret(b.password, secretCost.password),
        crewId: b.crewId ?? null,
        departmentId: b.departmentId ?? null,
        areaCode: b.areaCode ?? null,
      }).catch((err: { code?: string }) => {
        if (err.code === '23503') throw new HubError('HUB_ERR_BAD_REQUEST', 'unknown crew');
        throw err;
      });
      if (!user) throw new HubError('HUB_ERR_USER_EXISTS', b.username);
      return reply.status(201).send(user);
    },
  );

  api.get<{ Querystring: { username?: string; outcome?: string; limit: number } }>(
    '/audit',
    {
      preHandler: api.requireRole('supervisor'),
      schema: {
        tags: ['auth'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            username: { type: 'string' },
            outcome: { enum: ['ok', 'refused', 'failed'] },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        },
      },
    },
    async (req) => ({ entries: await listAudit(db, req.query) }),
  );
}
