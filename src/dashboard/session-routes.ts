import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import {
  deleteSession,
  insertSession,
  passwordHashOf,
  setUserPassword,
  userForLogin,
  type Queryable,
} from '../db/index.js';
import { HubError, formatScryptHash, scryptParams, secretCost } from '../domain/index.js';
import {
  anyUser,
  hashToken,
  newSessionToken,
  sessionCookie,
  sessionCookieOptions,
} from './auth.js';
import type { CookieSecure } from './http-config.js';
import type { LoginGuard } from './login-guard.js';
import type { SessionEnds } from './sessions.js';
import { changeAndEndSessions, password, userSchema } from './user-routes.js';

export interface SessionRouteDeps {
  readonly db: Queryable;
  readonly sessionTtlHours: number;
  readonly cookieSecure: CookieSecure;
  readonly sessions: SessionEnds;
  /** Password guessing, per username and per client address, counted before scrypt runs (#17). */
  readonly loginGuard: LoginGuard;
}

/**
 * A hash to verify against when the user does not exist, so both answers take
 * as long: a well-formed password hash that no password matches.
 */
const dummyHash = formatScryptHash({
  N: secretCost.password,
  r: scryptParams.r,
  p: scryptParams.p,
  salt: randomBytes(16),
  key: randomBytes(scryptParams.keyLength),
});

/** Login, logout, me and one's own password (docs/api.md, "Auth"). */
export function registerSessionRoutes(api: FastifyInstance, deps: SessionRouteDeps): void {
  const { db, loginGuard: guard } = deps;

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
        const ok = await guard.verify(req.body.password, stored ?? dummyHash);
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

  api.post('/auth/logout', { ...anyUser, schema: { tags: ['auth'] } }, async (req, reply) => {
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

  api.get('/auth/me', { ...anyUser, schema: { tags: ['auth'] } }, async (req) => ({
    user: req.user,
  }));

  api.post<{ Body: { currentPassword: string; newPassword: string } }>(
    '/auth/password',
    {
      ...anyUser,
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
        if (!stored || !(await guard.verify(current, stored))) {
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
      const hash = await guard.hashPassword(req.body.newPassword);
      const user = await changeAndEndSessions(
        deps,
        () => setUserPassword(db, me.id, hash),
        me.id,
        'password_changed',
        req.sessionTokenHash,
      );
      return { user };
    },
  );
}
