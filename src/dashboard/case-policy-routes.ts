import type { FastifyInstance } from 'fastify';
import { removeCaseDeadline, setRuleCasePolicy } from '../cases/index.js';
import {
  deleteRuleCasePolicy,
  insertCaseDeadline,
  listCaseDeadlines,
  listRuleCasePolicies,
  updateCaseDeadline,
  type Queryable,
  type RuleCasePolicy,
} from '../db/index.js';
import { HubError, deadlineUnits, severities, type DeadlineUnit } from '../domain/index.js';
import { anyUser } from './auth.js';
import { admin, idParams, listOf, nullableType } from './admin-schemas.js';

const minutes = { type: 'integer', minimum: 1, maximum: 525600 } as const;
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
const ruleParams = {
  type: 'object',
  required: ['ruleId'],
  properties: { ruleId: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

function withMinutes<T extends RuleCasePolicy>(p: T) {
  return {
    ...p,
    autoVerifyAfterMinutes: p.autoVerifyAfterS === null ? null : p.autoVerifyAfterS / 60,
  };
}

/**
 * How cases are held to account (docs/cases.md, "Administration"): the case
 * deadlines and each rule's case policy; the checks are cases/administration.ts.
 */
export function registerCasePolicyRoutes(api: FastifyInstance, deps: { db: Queryable }): void {
  const { db } = deps;

  // ---- case deadlines

  api.get(
    '/case-deadlines',
    { ...anyUser, schema: { tags: ['admin'], response: listOf('deadlines', deadlineSchema) } },
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
      return reply.status(201).send(await insertCaseDeadline(db, b));
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
      await removeCaseDeadline(db, req.params.id);
      return reply.status(204).send();
    },
  );

  // ---- rule case policies

  api.get(
    '/rule-case-policies',
    { ...anyUser, schema: { tags: ['admin'], response: listOf('policies', policySchema) } },
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
      const p = await setRuleCasePolicy(db, {
        ruleId: req.params.ruleId,
        openCase: req.body.openCase,
        autoVerifyAfterMinutes: req.body.autoVerifyAfterMinutes ?? null,
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
