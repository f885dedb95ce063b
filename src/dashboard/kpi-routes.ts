import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CaseService } from '../cases/index.js';
import { lightingRateOver, lightingSettings } from '../cases/index.js';
import {
  caseKpis,
  facilityKpis,
  kpiGroupings,
  topProblems,
  type KpiGrouping,
  type Queryable,
} from '../db/index.js';
import { HubError, areaLevels, facilityTypes, type AreaLevel } from '../domain/index.js';
import { requireRole, type UserRole } from './auth.js';
import { isLightingTime } from '../rules/index.js';
import { parseTime } from './query.js';

export interface KpiRouteDeps {
  readonly db: Queryable;
  readonly cases: CaseService;
}

const day = 86_400_000;
/** One year of 5-minute buckets is the most one request reads. */
const maxPeriodMs = 366 * day;

/** A user scoped to an area sees its own area's figures only. */
function scopedArea(req: FastifyRequest, area: string | undefined): string | undefined {
  const scope = req.user?.areaCode;
  return scope && !(area ?? '').startsWith(scope) ? scope : area;
}

const rateFields = {
  facilities: { type: 'integer' },
  faulty: { type: 'integer' },
  online: { type: 'integer' },
  integrityRate: { type: ['number', 'null'] },
  onlineRate: { type: ['number', 'null'] },
  lampsDue: { type: 'integer' },
  lampsLit: { type: 'integer' },
  lightingRate: { type: ['number', 'null'] },
} as const;

const readers: UserRole[] = ['operator', 'supervisor', 'viewer'];

/** Area filters of the facility KPIs: a code prefix, or a district, street or community by name of level. */
const areaFilters = {
  area: { type: 'string', pattern: '^\\d{1,15}$', description: 'area code prefix' },
  district: { type: 'string', pattern: '^\\d{6}$' },
  street: { type: 'string', pattern: '^\\d{9}$' },
  community: { type: 'string', pattern: '^\\d{12}$' },
} as const;
type AreaFilters = { area?: string; district?: string; street?: string; community?: string };
/** The narrowest filter given wins. */
const areaOf = (q: AreaFilters) => q.community ?? q.street ?? q.district ?? q.area;

/** Case KPIs and facility KPIs (docs/cases.md, "KPIs" and "Facility KPIs"; docs/api.md). */
export function registerKpiRoutes(api: FastifyInstance, deps: KpiRouteDeps): void {
  const { db, cases } = deps;

  api.get<{
    Querystring: { groupBy: KpiGrouping; from?: string; to?: string; asOf?: string; area?: string };
  }>(
    '/kpis',
    {
      ...requireRole(...readers),
      schema: {
        tags: ['kpis'],
        summary: 'Case KPIs (结案率, 按期结案率, 处置率, …) per area, department or month',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            groupBy: { enum: [...kpiGroupings], default: 'district' },
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
            asOf: { type: 'string', format: 'date-time' },
            area: { type: 'string', pattern: '^\\d{1,15}$' },
          },
        },
      },
    },
    async (req) => {
      const now = cases.now();
      const to = req.query.to ?? now.toISOString();
      const from = req.query.from ?? new Date(Date.parse(to) - 31 * day).toISOString();
      const asOf = req.query.asOf ?? now.toISOString();
      const area = scopedArea(req, req.query.area);
      const rows = await caseKpis(db, {
        groupBy: req.query.groupBy,
        from,
        to,
        asOf,
        area,
        timeZone: cases.timeZone,
      });
      return { groupBy: req.query.groupBy, from, to, asOf, area: area ?? null, rows };
    },
  );

  api.get<{ Querystring: AreaFilters & { level: AreaLevel; type?: string; asOf?: string } }>(
    '/kpis/facilities',
    {
      ...requireRole(...readers),
      schema: {
        tags: ['kpis'],
        summary: 'Facility integrity, online and lighting rates per area (snapshot)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            level: { enum: [...areaLevels], default: 'district' },
            ...areaFilters,
            type: { enum: [...facilityTypes] },
            asOf: { type: 'string', format: 'date-time' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              level: { type: 'string' },
              area: { type: ['string', 'null'] },
              asOf: { type: 'string' },
              lightingTime: { type: 'boolean' },
              rows: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    area: { type: ['string', 'null'] },
                    name: { type: ['string', 'null'] },
                    ...rateFields,
                    byType: {
                      type: 'object',
                      additionalProperties: { type: 'object', properties: rateFields },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    async (req) => {
      const asOf = req.query.asOf ?? cases.now().toISOString();
      const area = scopedArea(req, areaOf(req.query));
      const { hours, darkCurrentA } = await lightingSettings(db);
      const lightingTime = isLightingTime(Date.parse(asOf), hours);
      const rows = await facilityKpis(db, {
        level: req.query.level,
        area,
        type: req.query.type,
        asOf,
        lightingTime,
        darkCurrentA,
      });
      return { level: req.query.level, area: area ?? null, asOf, lightingTime, rows };
    },
  );

  api.get<{
    Querystring: AreaFilters & {
      level: AreaLevel;
      by: 'night' | 'month';
      from?: string;
      to?: string;
    };
  }>(
    '/kpis/lighting',
    {
      ...requireRole(...readers),
      schema: {
        tags: ['kpis'],
        summary: 'Lighting rate (亮灯率) over a period, per area and night or month',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            level: { enum: [...areaLevels], default: 'district' },
            ...areaFilters,
            by: { enum: ['night', 'month'], default: 'night' },
            from: { type: 'string', description: 'ISO 8601 or epoch ms; default 7 days before to' },
            to: { type: 'string', description: 'ISO 8601 or epoch ms; default now' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              level: { type: 'string' },
              by: { type: 'string' },
              area: { type: ['string', 'null'] },
              from: { type: 'string' },
              to: { type: 'string' },
              rows: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    area: { type: ['string', 'null'] },
                    name: { type: ['string', 'null'] },
                    period: { type: 'string' },
                    due: { type: 'integer' },
                    lit: { type: 'number' },
                    lightingRate: { type: ['number', 'null'] },
                  },
                },
              },
            },
          },
        },
      },
    },
    async (req) => {
      const q = req.query;
      const toMs = parseTime(q.to, 'to', cases.now().getTime());
      const fromMs = parseTime(q.from, 'from', toMs - 7 * day);
      if (fromMs >= toMs) throw new HubError('HUB_ERR_BAD_REQUEST', 'from must be before to');
      if (toMs - fromMs > maxPeriodMs) {
        throw new HubError('HUB_ERR_BAD_REQUEST', 'the period is at most 366 days');
      }
      const area = scopedArea(req, areaOf(q));
      const rows = await lightingRateOver(db, { level: q.level, area, fromMs, toMs, by: q.by });
      return {
        level: q.level,
        by: q.by,
        area: area ?? null,
        from: new Date(fromMs).toISOString(),
        to: new Date(toMs).toISOString(),
        rows,
      };
    },
  );
  api.get<{ Querystring: { from?: string; to?: string; area?: string; limit: number } }>(
    '/kpis/problems',
    {
      ...requireRole(...readers),
      schema: {
        tags: ['kpis'],
        summary: 'Top problem types: registered cases per facility type and rule, most first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
            area: { type: 'string', pattern: '^\\d{1,15}$' },
            limit: { type: 'integer', minimum: 1, maximum: 50, default: 5 },
          },
        },
      },
    },
    async (req) => {
      const to = req.query.to ?? cases.now().toISOString();
      const from = req.query.from ?? new Date(Date.parse(to) - 30 * day).toISOString();
      if (Date.parse(from) >= Date.parse(to))
        throw new HubError('HUB_ERR_BAD_REQUEST', 'from must be before to');
      const area = scopedArea(req, req.query.area);
      const rows = await topProblems(db, { from, to, area, limit: req.query.limit });
      return { from, to, area: area ?? null, rows };
    },
  );
}
