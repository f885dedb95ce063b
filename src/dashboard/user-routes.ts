import type { FastifyInstance } from 'fastify';
import {
  deleteUserSessions,
  getCrewRecord,
  getUser,
  insertUser,
  listUsers,
  otherEnabledAdmins,
  setUserEnabled,
  setUserPassword,
  updateUser,
  type Queryable,
  type UserPatch,
  type UserRecord,
} from '../db/index.js';
import { HubError, areaCodePattern, roles, userAreaProblem } from '../domain/index.js';
import { requireRole } from './auth.js';
import type { LoginGuard } from './login-guard.js';
import type { SessionEnds } from './sessions.js';

export interface UserRouteDeps {
  readonly db: Queryable;
  readonly sessions: SessionEnds;
  /** The login's guard: a password reset lifts a lockout. */
  readonly loginGuard: LoginGuard;
}

export const userSchema = {
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

export const password = { type: 'string', minLength: 10, maxLength: 200 } as const;
const userIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1 } },
} as const;

/**
 * Makes a change to a user, then ends its sessions in the database and on
 * every live connection of this process, as one step against the sweep.
 */
export function changeAndEndSessions<T>(
  deps: { readonly db: Queryable; readonly sessions: SessionEnds },
  change: () => Promise<T>,
  userId: number,
  reason: 'disabled' | 'password_changed' | 'password_reset',
  except: string | null = null,
): Promise<T> {
  return deps.sessions.exclusive(async () => {
    const out = await change();
    if (out) deps.sessions.end(await deleteUserSessions(deps.db, userId, except), reason);
    return out;
  });
}

/** The city's users, kept by its admins (docs/api.md, "Auth"; docs/cases.md, "Users and roles"). */
export function registerUserRoutes(api: FastifyInstance, deps: UserRouteDeps): void {
  const { db, loginGuard: guard } = deps;

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
        passwordHash: await guard.hashPassword(b.password),
        crewId: b.crewId ?? null,
        departmentId: b.departmentId ?? null,
        areaCode: b.areaCode ?? null,
      });
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
      const user = await updateUser(db, before.id, patch);
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
        deps,
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
      const hash = await guard.hashPassword(req.body.password);
      const user = await changeAndEndSessions(
        deps,
        () => setUserPassword(db, before.id, hash),
        before.id,
        'password_reset',
      );
      // A reset also lifts a lockout from failed logins.
      guard.forget(before.username);
      return user;
    },
  );
}
