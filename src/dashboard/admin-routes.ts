import type { FastifyInstance } from 'fastify';
import {
  deleteCaseDeadline,
  deleteCrew,
  deleteDepartment,
  deleteDispatchRoute,
  deleteRuleCasePolicy,
  getArea,
  getCaseDeadline,
  getCrewRecord,
  getDepartment,
  getDispatchRoute,
  inUse,
  insertCaseDeadline,
  insertCrew,
  insertDepartment,
  insertDispatchRoute,
  listCaseDeadlines,
  listCrews,
  listDepartments,
  listDispatchRoutes,
  listRuleCasePolicies,
  matchingRoutes,
  renameCrew,
  renameDepartment,
  ruleExists,
  updateCaseDeadline,
  updateDispatchRoute,
  upsertRuleCasePolicy,
  type DispatchRoute,
  type Queryable,
  type References,
  type RuleCasePolicy,
} from '../db/index.js';
import { requireRole } from './auth.js';
import {
  HubError,
  areaCodePattern,
  deadlineUnits,
  deviceIdPatternSource,
  facilityTypes,
  severities,
  type DeadlineUnit,
} from '../domain/index.js';

export interface AdminRouteDeps {
  readonly db: Queryable;
}

const key = { type: 'string', pattern: deviceIdPatternSource } as const;
const name = { type: 'string', minLength: 1, maxLength: 100 } as const;
const minutes = { type: 'integer', minimum: 1, maximum: 525600 } as const;
const keyParams = { type: 'object', required: ['id'], properties: { id: key } } as const;
const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1 } },
} as const;
/** '' (the whole city) or a district (6), street (9), community (12) or grid (15) code. */
const areaPrefix = { type: 'string', pattern: `^(${areaCodePattern.slice(1, -1)})?$` } as const;
const nullableType = { anyOf: [{ enum: [...facilityTypes] }, { type: 'null' }] } as const;

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
const routeSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    facilityType: { type: ['string', 'null'] },
    areaPrefix: { type: 'string' },
    departmentId: { type: 'string' },
    crewId: { type: ['string', 'null'] },
  },
} as const;
const deadlineSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    severity: { type: 'string' },
    facilityType: { type: ['string', 'null'] },
    acceptMinutes: { type: 'integer' },
    handleMinutes: { type: 'integer' },
    unit: { type: 'string' },
    dispatchMinutes: { type: 'integer' },
    dispatchUnit: { type: 'string' },
    source: { type: 'string' },
  },
} as const;
/** Calendar or working minutes (decision 0108); settable on create and edit. */
const deadlineTiming = {
  unit: { enum: [...deadlineUnits] },
  dispatchMinutes: { type: 'integer', minimum: 1, maximum: 43200 },
  dispatchUnit: { enum: [...deadlineUnits] },
} as const;
const policySchema = {
  type: 'object',
  properties: {
    ruleId: { type: 'string' },
    title: { type: ['string', 'null'] },
    openCase: { type: 'boolean' },
    autoVerifyAfterS: { type: ['integer', 'null'] },
    autoVerifyAfterMinutes: { type: ['number', 'null'] },
    custom: { type: 'boolean' },
  },
} as const;

/** Writing the city's administration takes the admin role. */
const admin = requireRole('admin');

const listOf = (prop: string, item: object) => ({
  200: { type: 'object', properties: { [prop]: { type: 'array', items: item } } },
});

/** The digits of an area code say its level in the four-level network (domain.md). */
export function areaLevel(prefix: string): string {
  return (
    { 0: 'city', 6: 'district', 9: 'street', 12: 'community', 15: 'grid' }[prefix.length] ?? 'area'
  );
}

function refusedInUse(what: string, refs: References): never {
  const uses = Object.entries(refs)
    .filter(([, n]) => n > 0)
    .map(([table, n]) => `${n} ${table}`)
    .join(', ');
  throw new HubError('HUB_ERR_IN_USE', `${what} is referred to by ${uses}`);
}

/** Unique (23505) and foreign-key (23503) violations, worded for the admin. */
function writeError(what: string) {
  return (err: { code?: string }): never => {
    if (err.code === '23505') throw new HubError('HUB_ERR_EXISTS', what);
    if (err.code === '23503') {
      throw new HubError('HUB_ERR_BAD_REQUEST', `${what}: unknown department or crew`);
    }
    throw err;
  };
}

function withMinutes<T extends RuleCasePolicy>(p: T) {
  return {
    ...p,
    autoVerifyAfterMinutes: p.autoVerifyAfterS === null ? null : p.autoVerifyAfterS / 60,
  };
}

/**
 * What a city's admin keeps without a restart (docs/cases.md, "Administration"):
 * departments, crews, the dispatch routing table, case deadlines and per-rule
 * case policies. Reading is open to every logged-in user (screens need it);
 * writing takes the admin role. Every write is in the audit log.
 */
export function registerAdminRoutes(api: FastifyInstance, deps: AdminRouteDeps): void {
  const { db } = deps;

  /** PATCH `{name}` and DELETE for a table keyed by a text id (departments, crews). */
  function renameAndDelete(r: {
    path: string;
    what: string;
    summary?: string;
    schema: object;
    rename: (db: Queryable, id: string, name: string) => Promise<object | null>;
    exists: (db: Queryable, id: string) => Promise<object | null>;
    remove: (db: Queryable, id: string) => Promise<{ refs: References }>;
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
        const { refs } = await r.remove(db, req.params.id).catch(inUseOnForeignKey);
        if (inUse(refs)) refusedInUse(`${r.what} ${req.params.id}`, refs);
        return reply.status(204).send();
      },
    );
  }

  // ---- departments

  api.get(
    '/departments',
    { schema: { tags: ['admin'], response: listOf('departments', departmentSchema) } },
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
      const c = await insertCrew(db, req.body).catch(writeError(`crew ${req.body.id}`));
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

  // ---- dispatch routes

  /** A route as the admin gave it, checked: a known area, the crew within the department. */
  async function checkedRoute(r: {
    facilityType?: string | null;
    areaPrefix: string;
    departmentId?: string;
    crewId?: string | null;
  }): Promise<Omit<DispatchRoute, 'id'>> {
    if (r.areaPrefix !== '' && !(await getArea(db, r.areaPrefix))) {
      throw new HubError('HUB_ERR_BAD_REQUEST', `unknown area ${r.areaPrefix}`);
    }
    let departmentId = r.departmentId;
    if (r.crewId) {
      const crew = await getCrewRecord(db, r.crewId);
      if (!crew) throw new HubError('HUB_ERR_BAD_REQUEST', `no crew ${r.crewId}`);
      if (departmentId && departmentId !== crew.departmentId) {
        throw new HubError(
          'HUB_ERR_BAD_REQUEST',
          `crew ${crew.id} belongs to department ${crew.departmentId}, not ${departmentId}`,
        );
      }
      departmentId = crew.departmentId;
    }
    if (!departmentId) throw new HubError('HUB_ERR_BAD_REQUEST', 'needs departmentId or crewId');
    return {
      facilityType: r.facilityType ?? null,
      areaPrefix: r.areaPrefix,
      departmentId,
      crewId: r.crewId ?? null,
    };
  }

  const routeBody = {
    type: 'object',
    additionalProperties: false,
    properties: {
      facilityType: nullableType,
      areaPrefix,
      departmentId: key,
      crewId: { anyOf: [key, { type: 'null' }] },
    },
  } as const;

  api.get<{
    Querystring: { type?: string; departmentId?: string; crewId?: string; area?: string };
  }>(
    '/dispatch-routes',
    {
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
    async (req) => {
      const type = req.query.type ?? null;
      const grid = req.query.grid ?? null;
      const candidates = await matchingRoutes(db, type, grid);
      const best = candidates[0] ?? null;
      const [department, crew, area] = best
        ? await Promise.all([
            getDepartment(db, best.departmentId),
            best.crewId ? getCrewRecord(db, best.crewId) : null,
            best.areaPrefix ? getArea(db, best.areaPrefix) : null,
          ])
        : [null, null, null];
      const what = `${type ?? 'a case with no facility type'} in ${grid ?? 'no area'}`;
      let reason: string;
      if (!best) {
        reason =
          `no route matches ${what}: the case stays registered until an operator dispatches it ` +
          `to a named crew (dispatch without crewId answers HUB_ERR_NO_ROUTE)`;
      } else {
        const where = best.areaPrefix
          ? `${areaLevel(best.areaPrefix)} ${best.areaPrefix}${area ? ` (${area.name})` : ''}`
          : 'the whole city';
        const others = candidates.length - 1;
        reason =
          `route ${best.id} (${best.facilityType ?? 'any type'} in ${where}) wins for ${what}` +
          (others > 0
            ? `: the longest matching area prefix of ${candidates.length} matching routes` +
              ', an exact facility type before "any type" at the same prefix'
            : ': the only matching route') +
          (best.crewId ? '' : '; it names a department only, so no crew receives the case');
      }
      return {
        facilityType: type,
        gridCode: grid,
        route: best,
        department: department ? { id: department.id, name: department.name } : null,
        crew: crew ? { id: crew.id, name: crew.name } : null,
        reason,
        candidates: candidates.map((c, i) => ({
          ...c,
          areaLevel: areaLevel(c.areaPrefix),
          rank: i + 1,
        })),
      };
    },
  );

  api.post<{
    Body: {
      facilityType?: string | null;
      areaPrefix: string;
      departmentId?: string;
      crewId?: string | null;
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
      const r = await checkedRoute(req.body);
      const what = `a route for ${r.facilityType ?? 'any type'} in ${r.areaPrefix || 'the city'}`;
      return reply.status(201).send(await insertDispatchRoute(db, r).catch(writeError(what)));
    },
  );

  api.patch<{
    Params: { id: number };
    Body: {
      facilityType?: string | null;
      areaPrefix?: string;
      departmentId?: string;
      crewId?: string | null;
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
      const r = await checkedRoute({
        facilityType: 'facilityType' in b ? b.facilityType : before.facilityType,
        areaPrefix: b.areaPrefix ?? before.areaPrefix,
        departmentId: b.departmentId ?? (b.crewId ? undefined : before.departmentId),
        crewId: 'crewId' in b ? b.crewId : before.crewId,
      });
      const what = `a route for ${r.facilityType ?? 'any type'} in ${r.areaPrefix || 'the city'}`;
      const updated = await updateDispatchRoute(db, before.id, r).catch(writeError(what));
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

  // ---- case deadlines

  api.get(
    '/case-deadlines',
    { schema: { tags: ['admin'], response: listOf('deadlines', deadlineSchema) } },
    async () => ({ deadlines: await listCaseDeadlines(db) }),
  );

  api.post<{
    Body: {
      severity: string;
      facilityType?: string | null;
      acceptMinutes: number;
      handleMinutes: number;
      source: string;
      unit?: DeadlineUnit;
      dispatchMinutes?: number;
      dispatchUnit?: DeadlineUnit;
    };
  }>(
    '/case-deadlines',
    {
      ...admin,
      schema: {
        tags: ['admin'],
        body: {
          type: 'object',
          required: ['severity', 'acceptMinutes', 'handleMinutes', 'source'],
          additionalProperties: false,
          properties: {
            severity: { enum: [...severities] },
            facilityType: nullableType,
            acceptMinutes: minutes,
            handleMinutes: minutes,
            source: { type: 'string', minLength: 1, maxLength: 300 },
            ...deadlineTiming,
          },
        },
        response: { 201: deadlineSchema },
      },
    },
    async (req, reply) => {
      const b = { ...req.body, facilityType: req.body.facilityType ?? null };
      const created = await insertCaseDeadline(db, b).catch(
        writeError(`a deadline for ${b.severity} × ${b.facilityType ?? 'any type'}`),
      );
      return reply.status(201).send(created);
    },
  );

  api.patch<{
    Params: { id: number };
    Body: {
      acceptMinutes?: number;
      handleMinutes?: number;
      source?: string;
      unit?: DeadlineUnit;
      dispatchMinutes?: number;
      dispatchUnit?: DeadlineUnit;
    };
  }>(
    '/case-deadlines/:id',
    {
      ...admin,
      schema: {
        tags: ['admin'],
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            acceptMinutes: minutes,
            handleMinutes: minutes,
            source: { type: 'string', minLength: 1, maxLength: 300 },
            ...deadlineTiming,
          },
        },
        response: { 200: deadlineSchema },
      },
    },
    async (req) => {
      const d = await updateCaseDeadline(db, req.params.id, req.body);
      if (!d) throw new HubError('HUB_ERR_NOT_FOUND', `no case deadline ${req.params.id}`);
      return d;
    },
  );

  api.delete<{ Params: { id: number } }>(
    '/case-deadlines/:id',
    { ...admin, schema: { tags: ['admin'], params: idParams } },
    async (req, reply) => {
      const d = await getCaseDeadline(db, req.params.id);
      if (!d) throw new HubError('HUB_ERR_NOT_FOUND', `no case deadline ${req.params.id}`);
      // The any-type row is every facility type's fallback: without it cases get no deadline.
      if (d.facilityType === null) {
        throw new HubError(
          'HUB_ERR_IN_USE',
          `the any-type deadline of ${d.severity} is the fallback for every facility type; edit it instead`,
        );
      }
      await deleteCaseDeadline(db, d.id);
      return reply.status(204).send();
    },
  );

  // ---- rule case policies

  const ruleParams = {
    type: 'object',
    required: ['ruleId'],
    properties: { ruleId: { type: 'string', minLength: 1, maxLength: 200 } },
  } as const;

  api.get(
    '/rule-case-policies',
    { schema: { tags: ['admin'], response: listOf('policies', policySchema) } },
    async () => ({ policies: (await listRuleCasePolicies(db)).map(withMinutes) }),
  );

  api.put<{
    Params: { ruleId: string };
    Body: { openCase: boolean; autoVerifyAfterMinutes?: number | null };
  }>(
    '/rule-case-policies/:ruleId',
    {
      ...admin,
      schema: {
        tags: ['admin'],
        summary: 'Open a case for this rule or alarm only; auto-verify after N minutes of recovery',
        params: ruleParams,
        body: {
          type: 'object',
          required: ['openCase'],
          additionalProperties: false,
          properties: {
            openCase: { type: 'boolean' },
            autoVerifyAfterMinutes: {
              anyOf: [{ type: 'integer', minimum: 1, maximum: 10080 }, { type: 'null' }],
            },
          },
        },
        response: { 200: policySchema },
      },
    },
    async (req) => {
      const { ruleId } = req.params;
      if (!(await ruleExists(db, ruleId))) throw new HubError('HUB_ERR_RULE_UNKNOWN', ruleId);
      const after = req.body.autoVerifyAfterMinutes ?? null;
      if (!req.body.openCase && after !== null) {
        throw new HubError('HUB_ERR_BAD_REQUEST', 'auto-verify needs openCase: true');
      }
      const p = await upsertRuleCasePolicy(db, {
        ruleId,
        openCase: req.body.openCase,
        autoVerifyAfterS: after === null ? null : after * 60,
      });
      return withMinutes({ ...p, custom: true });
    },
  );

  api.delete<{ Params: { ruleId: string } }>(
    '/rule-case-policies/:ruleId',
    {
      ...admin,
      schema: {
        tags: ['admin'],
        summary: 'Back to the default: open a case, no auto-verify',
        params: ruleParams,
      },
    },
    async (req, reply) => {
      if (!(await deleteRuleCasePolicy(db, req.params.ruleId))) {
        throw new HubError('HUB_ERR_NOT_FOUND', `no policy for rule ${req.params.ruleId}`);
      }
      return reply.status(204).send();
    },
  );
}

/** A reference added between the count and the delete: the foreign key refuses it. */
function inUseOnForeignKey(err: { code?: string }): never {
  if (err.code === '23503') throw new HubError('HUB_ERR_IN_USE', 'a reference was just added');
  throw err;
}
