import type { FastifyInstance } from 'fastify';
import { checkedRoute, explainRoute } from '../cases/index.js';
import {
  deleteDispatchRoute,
  getDispatchRoute,
  insertDispatchRoute,
  listDispatchRoutes,
  updateDispatchRoute,
  type Queryable,
} from '../db/index.js';
import {
  HubError,
  areaCodePattern,
  categoryFilterPattern,
  facilityTypes,
} from '../domain/index.js';
import { anyUser } from './auth.js';
import { admin, idParams, key, listOf, nullableType } from './admin-schemas.js';

/** '' (the whole city) or a district (6), street (9), community (12) or grid (15) code. */
const areaPrefix = { type: 'string', pattern: `^(${areaCodePattern.slice(1, -1)})?$` } as const;

const routeSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    facilityType: { type: ['string', 'null'] },
    areaPrefix: { type: 'string' },
    departmentId: { type: 'string' },
    crewId: { type: ['string', 'null'] },
    categoryCode: { type: ['string', 'null'] },
  },
} as const;

const routeBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    facilityType: nullableType,
    areaPrefix,
    departmentId: key,
    crewId: { anyOf: [key, { type: 'null' }] },
    // A 部件/事件 class or major class (issue #16): the route is for those cases only.
    categoryCode: { anyOf: [{ type: 'string', pattern: categoryFilterPattern }, { type: 'null' }] },
  },
} as const;

/** The dispatch routing table (docs/cases.md, "Administration"); the checks are cases/administration.ts. */
export function registerRoutingRoutes(api: FastifyInstance, deps: { db: Queryable }): void {
  const { db } = deps;

  api.get<{
    Querystring: { type?: string; departmentId?: string; crewId?: string; area?: string };
  }>(
    '/dispatch-routes',
    {
      ...anyUser,
      schema: {
        tags: ['admin'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            type: { enum: [...facilityTypes] },
            departmentId: { type: 'string' },
            crewId: { type: 'string' },
            area: { type: 'string', pattern: '^\\d{1,15}$' },
          },
        },
        response: listOf('routes', routeSchema),
      },
    },
    async (req) => ({
      routes: await listDispatchRoutes(db, { ...req.query, facilityType: req.query.type }),
    }),
  );

  api.get<{ Querystring: { type?: string; grid?: string } }>(
    '/dispatch-routes/resolve',
    {
      ...anyUser,
      schema: {
        tags: ['admin'],
        summary: 'Which route a case of this type in this grid would take, and why',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            type: { enum: [...facilityTypes] },
            grid: { type: 'string', pattern: '^\\d{1,15}$' },
          },
        },
      },
    },
    async (req) => explainRoute(db, req.query.type ?? null, req.query.grid ?? null),
  );

  api.post<{
    Body: {
      facilityType?: string | null;
      areaPrefix: string;
      departmentId?: string;
      crewId?: string | null;
      categoryCode?: string | null;
    };
  }>(
    '/dispatch-routes',
    {
      ...admin,
      schema: {
        tags: ['admin'],
        body: { ...routeBody, required: ['areaPrefix'] },
        response: { 201: routeSchema },
      },
    },
    async (req, reply) => {
      const r = await checkedRoute(db, req.body);
      return reply.status(201).send(await insertDispatchRoute(db, r));
    },
  );

  api.patch<{
    Params: { id: number };
    Body: {
      facilityType?: string | null;
      areaPrefix?: string;
      departmentId?: string;
      crewId?: string | null;
      categoryCode?: string | null;
    };
  }>(
    '/dispatch-routes/:id',
    {
      ...admin,
      schema: {
        tags: ['admin'],
        params: idParams,
        body: { ...routeBody, minProperties: 1 },
        response: { 200: routeSchema },
      },
    },
    async (req) => {
      const before = await getDispatchRoute(db, req.params.id);
      if (!before) throw new HubError('HUB_ERR_NOT_FOUND', `no dispatch route ${req.params.id}`);
      const b = req.body;
      // A new crew brings its department unless the body names one.
      const r = await checkedRoute(db, {
        facilityType: 'facilityType' in b ? b.facilityType : before.facilityType,
        areaPrefix: b.areaPrefix ?? before.areaPrefix,
        departmentId: b.departmentId ?? (b.crewId ? undefined : before.departmentId),
        crewId: 'crewId' in b ? b.crewId : before.crewId,
        categoryCode: 'categoryCode' in b ? b.categoryCode : (before.categoryCode ?? null),
      });
      const updated = await updateDispatchRoute(db, before.id, r);
      // Deleted by someone else between the read and the write.
      if (!updated) throw new HubError('HUB_ERR_NOT_FOUND', `no dispatch route ${req.params.id}`);
      return updated;
    },
  );

  api.delete<{ Params: { id: number } }>(
    '/dispatch-routes/:id',
    { ...admin, schema: { tags: ['admin'], params: idParams } },
    async (req, reply) => {
      if (!(await deleteDispatchRoute(db, req.params.id))) {
        throw new HubError('HUB_ERR_NOT_FOUND', `no dispatch route ${req.params.id}`);
      }
      return reply.status(204).send();
    },
  );
}
