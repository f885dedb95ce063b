import type { FastifyInstance } from 'fastify';
import {
  deleteCrew,
  deleteDepartment,
  getCrewRecord,
  getDepartment,
  insertCrew,
  insertDepartment,
  listCrews,
  listDepartments,
  renameCrew,
  renameDepartment,
  type Queryable,
} from '../db/index.js';
import { HubError } from '../domain/index.js';
import { anyUser } from './auth.js';
import { admin, key, keyParams, listOf, name } from './admin-schemas.js';

const departmentSchema = {
  type: 'object',
  properties: { id: { type: 'string' }, name: { type: 'string' }, crews: { type: 'integer' } },
} as const;
const crewSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    departmentId: { type: 'string' },
    departmentName: { type: 'string' },
    name: { type: 'string' },
  },
} as const;

/** Departments and their crews (docs/cases.md, "Administration"). */
export function registerOrganisationRoutes(api: FastifyInstance, deps: { db: Queryable }): void {
  const { db } = deps;

  /** PATCH `{name}` and DELETE for a table keyed by a text id (departments, crews). */
  function renameAndDelete(r: {
    path: string;
    what: string;
    summary?: string;
    schema: object;
    rename: (db: Queryable, id: string, name: string) => Promise<object | null>;
    exists: (db: Queryable, id: string) => Promise<object | null>;
    remove: (db: Queryable, id: string) => Promise<void>;
  }): void {
    api.patch<{ Params: { id: string }; Body: { name: string } }>(
      r.path,
      {
        ...admin,
        schema: {
          tags: ['admin'],
          ...(r.summary ? { summary: r.summary } : {}),
          params: keyParams,
          body: {
            type: 'object',
            required: ['name'],
            additionalProperties: false,
            properties: { name },
          },
          response: { 200: r.schema },
        },
      },
      async (req) => {
        const row = await r.rename(db, req.params.id, req.body.name);
        if (!row) throw new HubError('HUB_ERR_NOT_FOUND', `no ${r.what} ${req.params.id}`);
        return row;
      },
    );

    api.delete<{ Params: { id: string } }>(
      r.path,
      { ...admin, schema: { tags: ['admin'], params: keyParams } },
      async (req, reply) => {
        if (!(await r.exists(db, req.params.id))) {
          throw new HubError('HUB_ERR_NOT_FOUND', `no ${r.what} ${req.params.id}`);
        }
        // Refused while anything refers to it (HUB_ERR_IN_USE, db/admin.ts).
        await r.remove(db, req.params.id);
        return reply.status(204).send();
      },
    );
  }

  // ---- departments

  api.get(
    '/departments',
    { ...anyUser, schema: { tags: ['admin'], response: listOf('departments', departmentSchema) } },
    async () => ({ departments: await listDepartments(db) }),
  );

  api.post<{ Body: { id: string; name: string } }>(
    '/departments',
    {
      ...admin,
      schema: {
        tags: ['admin'],
        body: {
          type: 'object',
          required: ['id', 'name'],
          additionalProperties: false,
          properties: { id: key, name },
        },
        response: { 201: departmentSchema },
      },
    },
    async (req, reply) => {
      const d = await insertDepartment(db, req.body);
      if (!d) throw new HubError('HUB_ERR_EXISTS', `department ${req.body.id}`);
      return reply.status(201).send(d);
    },
  );

  renameAndDelete({
    path: '/departments/:id',
    what: 'department',
    schema: departmentSchema,
    rename: renameDepartment,
    exists: getDepartment,
    remove: deleteDepartment,
  });

  // ---- crews

  api.get<{ Querystring: { departmentId?: string } }>(
    '/crews',
    {
      ...anyUser,
      schema: {
        tags: ['admin'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { departmentId: { type: 'string' } },
        },
        response: listOf('crews', crewSchema),
      },
    },
    async (req) => ({ crews: await listCrews(db, req.query) }),
  );

  api.post<{ Body: { id: string; departmentId: string; name: string } }>(
    '/crews',
    {
      ...admin,
      schema: {
        tags: ['admin'],
        body: {
          type: 'object',
          required: ['id', 'departmentId', 'name'],
          additionalProperties: false,
          properties: { id: key, departmentId: key, name },
        },
        response: { 201: crewSchema },
      },
    },
    async (req, reply) => {
      const c = await insertCrew(db, req.body);
      if (!c) throw new HubError('HUB_ERR_EXISTS', `crew ${req.body.id}`);
      return reply.status(201).send(c);
    },
  );

  renameAndDelete({
    path: '/crews/:id',
    what: 'crew',
    summary: 'Rename a crew (a crew stays in its department: create a new one to move)',
    schema: crewSchema,
    rename: renameCrew,
    exists: getCrewRecord,
    remove: deleteCrew,
  });
}
