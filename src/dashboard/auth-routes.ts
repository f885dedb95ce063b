import type { FastifyInstance } from 'fastify';
import {
  deleteSession,
  deleteUserSessions,
  getCrewRecord,
  getUser,
  insertSession,
  insertUser,
  listAudit,
  listUsers,
  otherEnabledAdmins,
  passwordHashOf,
  setUserEnabled,
  setUserPassword,
  updateUser,
  userForLogin,
  type AuditQuery,
  type Queryable,
  type UserPatch,
  type UserRecord,
} from '../db/index.js';
import {
  HubError,
  areaCodePattern,
  hashSecret,
  roles,
  secretCost,
  userAreaProblem,
  verifySecret,
} from '../domain/index.js';
import {
  hashToken,
  newSessionToken,
  requireRole,
  sessionCookie,
  sessionCookieOptions,
} from './auth.js';
import type { CookieSecure } from './http-config.js';
import { createLoginGuard, defaultLoginGuard, type LoginGuardOptions } from './login-guard.js';
import type { SessionEnds } from './sessions.js';

export interface AuthRouteDeps {
  readonly db: Queryable;
  readonly sessionTtlHours: number;
  readonly cookieSecure: CookieSecure;
  readonly sessions: SessionEnds;
  /** Login throttling and the bounded hash queue; `defaultLoginGuard` when absent. */
  readonly loginGuard?: Partial<LoginGuardOptions>;
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
    enabled: { type: 'boolean' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    passwordChangedAt: { type: ['string', 'null'] },
    disabledAt: { type: ['string', 'null'] },
  },
} as const;

const password = { type: 'string', minLength: 10, maxLength: 200 } as const;
const userIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1 } },
} as const;

/** Foreign-key and check violations of the users table, worded for the admin. */
function userWriteError(err: { code?: string; constraint?: string }): never {
  if (err.code === '23503') throw new HubError('HUB_ERR_BAD_REQUEST', 'unknown crew or department');
  if (err.code === '23514') throw new HubError('HUB_ERR_BAD_REQUEST', 'a crew user needs crewId');
  throw err;
}

/** A hash to verify against when the user does not exist, so both answers take as long. */
let dummyHash: Promise<string> | null = null;

/** Login, logout, me, users and the audit log (docs/api.md, "Auth"). */
export function registerAuthRoutes(api: FastifyInstance, deps: AuthRouteDeps): void {
  const { db } = deps;
  // Password guessing, per username and per client address, counted before scrypt runs (#17).
  const guard = createLoginGuard({ ...defaultLoginGuard, ...deps.loginGuard });

  api.post<{ Body: { username: string; password: string } }>(
    '/auth/login',
    {
      config: { public: true },
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
      const attempt = guard.admit(req.body.username, req.ip);
      let user;
      try {
        user = await userForLogin(db, req.body.username);
        const stored = user?.passwordHash;
        const ok = await guard.hash(async () => {
          dummyHash ??= hashSecret('not-a-password', secretCost.password);
          return verifySecret(req.body.password, stored ?? (await dummyHash));
        });
        if (!user || !ok || !user.enabled) {
          attempt.failed();
          throw new HubError('HUB_ERR_LOGIN_FAILED');
        }
        attempt.succeeded();
      } finally {
        // Whatever ended it without a verdict (queue full, database) gives the slot back.
        attempt.abandoned();
      }
      const token = newSessionToken();
      const expiresAt = new Date(Date.now() + deps.sessionTtlHours * 3600_000);
      await insertSession(db, {
        tokenHash: hashToken(token),
        userId: user.id,
        expiresAt: expiresAt.toISOString(),
        ip: req.ip,
      });
      req.user = user;
      void reply.setCookie(
        sessionCookie,
        token,
        sessionCookieOptions(req, deps.cookieSecure, expiresAt),
      );
      const { passwordHash: _hash, ...safe } = user;
      return { token, expiresAt: expiresAt.toISOString(), user: safe };
    },
  );

  api.post('/auth/logout', { schema: { tags: ['auth'] } }, async (req, reply) => {
    const hash = req.sessionTokenHash;
    if (hash) {
      await deps.sessions.exclusive(async () => {
        await deleteSession(db, hash);
        deps.sessions.end([hash], 'logout');
      });
    }
    void reply.clearCookie(sessionCookie, sessionCookieOptions(req, deps.cookieSecure));
    return { ok: true };
  });

  api.get('/auth/me', { schema: { tags: ['auth'] } }, async (req) => ({ user: req.user }));

  /**
   * Makes a change to a user, then ends its sessions in the database and on
   * every live connection of this process, as one step against the sweep.
   */
  function changeAndEndSessions<T>(
    change: () => Promise<T>,
    userId: number,
    reason: 'disabled' | 'password_changed' | 'password_reset',
    except: string | null = null,
  ): Promise<T> {
    return deps.sessions.exclusive(async () => {
      const out = await change();
      if (out) deps.sessions.end(await deleteUserSessions(db, userId, except), reason);
      return out;
    });
  }

  async function existingUser(id: number): Promise<UserRecord> {
    const user = await getUser(db, id);
    if (!user) throw new HubError('HUB_ERR_NOT_FOUND', `no user ${id}`);
    return user;
  }

  /** An admin may not take away the city's last enabled admin. */
  async function keepOneAdmin(user: UserRecord): Promise<void> {
    if (user.role === 'admin' && user.enabled && (await otherEnabledAdmins(db, user.id)) === 0) {
      throw new HubError('HUB_ERR_LAST_ADMIN', `${user.username} is the only enabled admin`);
    }
  }

  api.post<{ Body: { currentPassword: string; newPassword: string } }>(
    '/auth/password',
    {
      schema: {
        tags: ['auth'],
        summary: 'Change your own password; your other sessions end',
        body: {
          type: 'object',
          required: ['currentPassword', 'newPassword'],
          additionalProperties: false,
          properties: {
            currentPassword: { type: 'string', minLength: 1, maxLength: 200 },
            newPassword: password,
          },
        },
        response: { 200: { type: 'object', properties: { user: userSchema } } },
      },
    },
    async (req) => {
      const me = req.user!;
      // Guesses here count against the same limits as failed logins.
      const attempt = guard.admit(me.username, req.ip);
      try {
        const stored = await passwordHashOf(db, me.id);
        const current = req.body.currentPassword;
        if (!stored || !(await guard.hash(() => verifySecret(current, stored)))) {
          attempt.failed();
          throw new HubError('HUB_ERR_WRONG_PASSWORD');
        }
        attempt.succeeded();
      } finally {
        attempt.abandoned();
      }
      if (req.body.newPassword === req.body.currentPassword) {
        throw new HubError('HUB_ERR_BAD_REQUEST', 'the new password must differ from the current');
      }
      const hash = await guard.hash(() => hashSecret(req.body.newPassword, secretCost.password));
      const user = await changeAndEndSessions(
        () => setUserPassword(db, me.id, hash),
        me.id,
        'password_changed',
        req.sessionTokenHash,
      );
      return { user };
    },
  );

  api.get<{ Querystring: { role?: string; enabled?: boolean; crewId?: string } }>(
    '/users',
    {
      ...requireRole('admin'),
      schema: {
        tags: ['users'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            role: { enum: [...roles] },
            enabled: { type: 'boolean' },
            crewId: { type: 'string' },
          },
        },
        response: {
          200: { type: 'object', properties: { users: { type: 'array', items: userSchema } } },
        },
      },
    },
    async (req) => {
      const q = req.query;
      return {
        users: (await listUsers(db)).filter(
          (u) =>
            (q.role === undefined || u.role === q.role) &&
            (q.enabled === undefined || u.enabled === q.enabled) &&
            (q.crewId === undefined || u.crewId === q.crewId),
        ),
      };
    },
  );

  api.get<{ Params: { id: number } }>(
    '/users/:id',
    {
      ...requireRole('admin'),
      schema: { tags: ['users'], params: userIdParams, response: { 200: userSchema } },
    },
    async (req) => existingUser(req.params.id),
  );

  api.post<{
    Body: {
      username: string;
      password: string;
      displayName?: string;
      role: UserRecord['role'];
      crewId?: string;
      departmentId?: string;
      areaCode?: string;
    };
  }>(
    '/users',
    {
      ...requireRole('admin'),
      schema: {
        tags: ['users'],
        body: {
          type: 'object',
          required: ['username', 'password', 'role'],
          additionalProperties: false,
          properties: {
            username: { type: 'string', pattern: '^[A-Za-z0-9_.-]{2,64}$' },
            password,
            displayName: { type: 'string', minLength: 1, maxLength: 100 },
            role: { enum: [...roles] },
            crewId: { type: 'string' },
            departmentId: { type: 'string' },
            areaCode: { type: 'string', pattern: areaCodePattern },
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
      if (b.role !== 'crew' && b.crewId) {
        throw new HubError('HUB_ERR_BAD_REQUEST', 'only crew users belong to a crew');
      }
      const areaProblem = userAreaProblem(b.role, b.areaCode);
      if (areaProblem) throw new HubError('HUB_ERR_BAD_REQUEST', areaProblem);
      const user = await insertUser(db, {
        username: b.username,
        displayName: b.displayName ?? b.username,
        role: b.role,
        passwordHash: await hashSecret(b.password, secretCost.password),
        crewId: b.crewId ?? null,
        departmentId: b.departmentId ?? null,
        areaCode: b.areaCode ?? null,
      }).catch(userWriteError);
      if (!user) throw new HubError('HUB_ERR_USER_EXISTS', b.username);
      return reply.status(201).send(user);
    },
  );

  api.patch<{ Params: { id: number }; Body: UserPatch }>(
    '/users/:id',
    {
      ...requireRole('admin'),
      schema: {
        tags: ['users'],
        summary: 'Change role, department, crew, area or display name',
        params: userIdParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            displayName: { type: 'string', minLength: 1, maxLength: 100 },
            role: { enum: [...roles] },
            departmentId: { type: ['string', 'null'] },
            crewId: { type: ['string', 'null'] },
            areaCode: { type: ['string', 'null'], pattern: areaCodePattern },
          },
        },
        response: { 200: userSchema },
      },
    },
    async (req) => {
      const before = await existingUser(req.params.id);
      const patch: { -readonly [K in keyof UserPatch]: UserPatch[K] } = { ...req.body };
      const role = patch.role ?? before.role;
      if (role !== 'admin') await keepOneAdmin(before);
      const areaProblem = userAreaProblem(
        role,
        'areaCode' in patch ? patch.areaCode : before.areaCode,
      );
      if (areaProblem) throw new HubError('HUB_ERR_BAD_REQUEST', areaProblem);
      // A user leaving the crew role leaves its crew; a crew's department follows the crew.
      if (role !== 'crew' && patch.crewId) {
        throw new HubError('HUB_ERR_BAD_REQUEST', 'only crew users belong to a crew');
      }
      if (role !== 'crew' && before.crewId !== null && !('crewId' in patch)) patch.crewId = null;
      const crewId = 'crewId' in patch ? patch.crewId : before.crewId;
      if (role === 'crew' && !crewId) {
        throw new HubError('HUB_ERR_BAD_REQUEST', 'a crew user needs crewId');
      }
      // A crew user's department is its crew's, whichever of the two the patch names.
      if (crewId && (patch.crewId || 'departmentId' in patch)) {
        const crew = await getCrewRecord(db, crewId);
        if (!crew) throw new HubError('HUB_ERR_BAD_REQUEST', `no crew ${crewId}`);
        if (patch.departmentId && patch.departmentId !== crew.departmentId) {
          throw new HubError(
            'HUB_ERR_BAD_REQUEST',
            `crew ${crew.id} belongs to department ${crew.departmentId}`,
          );
        }
        patch.departmentId = crew.departmentId;
      }
      const user = await updateUser(db, before.id, patch).catch(userWriteError);
      // Another admin was disabled or demoted meanwhile.
      if (!user)
        throw new HubError('HUB_ERR_LAST_ADMIN', `${before.username} is the only enabled admin`);
      // Live connections joined rooms by role, crew and area: they must re-subscribe.
      if (
        user.role !== before.role ||
        user.crewId !== before.crewId ||
        user.areaCode !== before.areaCode
      ) {
        deps.sessions.userChanged(user.id);
      }
      return user;
    },
  );

  api.post<{ Params: { id: number } }>(
    '/users/:id/disable',
    {
      ...requireRole('admin'),
      schema: {
        tags: ['users'],
        summary: 'Disable a user: its sessions end at once',
        params: userIdParams,
        response: { 200: userSchema },
      },
    },
    async (req) => {
      const before = await existingUser(req.params.id);
      await keepOneAdmin(before);
      const user = await changeAndEndSessions(
        () => setUserEnabled(db, before.id, false),
        before.id,
        'disabled',
      );
      if (!user)
        throw new HubError('HUB_ERR_LAST_ADMIN', `${before.username} is the only enabled admin`);
      return user;
    },
  );

  api.post<{ Params: { id: number } }>(
    '/users/:id/enable',
    {
      ...requireRole('admin'),
      schema: { tags: ['users'], params: userIdParams, response: { 200: userSchema } },
    },
    async (req) => setUserEnabled(db, (await existingUser(req.params.id)).id, true),
  );

  api.post<{ Params: { id: number }; Body: { password: string } }>(
    '/users/:id/password',
    {
      ...requireRole('admin'),
      schema: {
        tags: ['users'],
        summary: "Reset a user's password: all its sessions end at once",
        params: userIdParams,
        body: {
          type: 'object',
          required: ['password'],
          additionalProperties: false,
          properties: { password },
        },
        response: { 200: userSchema },
      },
    },
    async (req) => {
      const before = await existingUser(req.params.id);
      const hash = await hashSecret(req.body.password, secretCost.password);
      const user = await changeAndEndSessions(
        () => setUserPassword(db, before.id, hash),
        before.id,
        'password_reset',
      );
      // A reset also lifts a lockout from failed logins.
      guard.forget(before.username);
      return user;
    },
  );

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
