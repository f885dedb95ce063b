import fastifyEtag from '@fastify/etag';
import type { FastifyInstance } from 'fastify';
import { transitions } from '../cases/index.js';
import { listAreas, listCategoryOverrides, listRules, type Queryable } from '../db/index.js';
import { anyUser } from './auth.js';
import {
  caseKinds,
  caseKindLabels,
  categoryMajors,
  facilityCategories,
  facilityEventCategories,
  mergeCategories,
  alarmChangeKinds,
  areaLevelLabels,
  areaLevels,
  caseActionLabels,
  caseActions,
  caseKindOf,
  caseStateLabels,
  caseStates,
  commandCatalog,
  facilityCatalog,
  facilityTypes,
  kpiTargets,
  metricLabelsZh,
  openCaseStates,
  roleLabels,
  roles,
  severities,
  severityLabels,
  type MetricSpec,
} from '../domain/index.js';
import { ruleThresholds } from '../rules/index.js';

export interface CatalogRouteDeps {
  readonly db: Queryable;
}

function metric(m: MetricSpec, pattern?: string) {
  return {
    name: m.name,
    kind: m.kind,
    unit: m.unit ?? null,
    min: m.min ?? null,
    max: m.max ?? null,
    values: m.values ?? null,
    pattern: pattern ?? null,
    label: { zh: metricLabelsZh[m.name] ?? m.name, en: m.description },
  };
}

/** The parts that come from code, not from the database: built once. */
const staticCatalog = {
  roles: roles.map((id) => ({ id, label: roleLabels[id] })),
  severities: severities.map((id, rank) => ({ id, rank, label: severityLabels[id] })),
  caseStates: caseStates.map((id) => ({
    id,
    label: caseStateLabels[id],
    open: openCaseStates.includes(id),
  })),
  caseActions: caseActions.map((id) => {
    const t = transitions[id];
    return {
      id,
      label: caseActionLabels[id],
      from: t.from,
      to: t.to,
      // Admin may take every action (cases/workflow.ts).
      roles: ['admin', ...t.roles],
      requires: t.requires ?? null,
    };
  }),
  facilityTypes: facilityTypes.map((id) => {
    const f = facilityCatalog[id];
    return {
      id,
      label: { zh: f.nameZh, en: f.nameEn },
      idPrefix: f.idPrefix,
      reportingIntervalS: f.reportingIntervalS,
      caseKind: caseKindOf(id),
      metrics: [
        ...f.metrics.map((m) => metric(m)),
        ...(f.patternMetrics ?? []).map((p) => metric(p.spec, p.pattern)),
      ],
      commands: commandCatalog
        .filter((c) => c.type === id)
        .map((c) => ({ name: c.name, args: c.args })),
    };
  }),
  kpiTargets,
  areaLevels: areaLevels.map((id) => ({ id, label: areaLevelLabels[id] })),
  alarmChanges: alarmChangeKinds,
};

const label = {
  type: 'object',
  required: ['zh', 'en'],
  properties: { zh: { type: 'string' }, en: { type: 'string' } },
} as const;
const idLabel = {
  type: 'object',
  required: ['id', 'label'],
  additionalProperties: true,
  properties: { id: { type: 'string' }, label },
} as const;
const anyList = { type: 'array', items: { type: 'object', additionalProperties: true } } as const;

/**
 * GET /api/catalog (issue #13): every list a screen needs to render labels
 * and filters, from src/domain/ and the city's own rules and areas, so no
 * page keeps a copy. Any logged-in user; an ETag makes a reload a 304.
 */
export async function registerCatalogRoutes(
  api: FastifyInstance,
  deps: CatalogRouteDeps,
): Promise<void> {
  // Encapsulated in this plugin: only the catalog gets ETags.
  await api.register(fastifyEtag);
  api.get(
    '/catalog',
    {
      ...anyUser,
      schema: {
        tags: ['catalog'],
        summary:
          'Roles, severities, case states and actions, facility types, KPI targets, rule thresholds, areas',
        response: {
          200: {
            type: 'object',
            required: [
              'roles',
              'severities',
              'caseStates',
              'caseActions',
              'facilityTypes',
              'kpiTargets',
              'thresholds',
              'areaLevels',
              'areas',
            ],
            properties: {
              roles: { type: 'array', items: idLabel },
              severities: { type: 'array', items: idLabel },
              caseStates: { type: 'array', items: idLabel },
              caseActions: { type: 'array', items: idLabel },
              facilityTypes: { type: 'array', items: idLabel },
              kpiTargets: { type: 'object', additionalProperties: true },
              thresholds: anyList,
              areaLevels: { type: 'array', items: idLabel },
              areas: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['code', 'level', 'name', 'parentCode'],
                  properties: {
                    code: { type: 'string' },
                    level: { type: 'string' },
                    name: { type: 'string' },
                    parentCode: { type: ['string', 'null'] },
                  },
                },
              },
              alarmChanges: { type: 'array', items: { type: 'string' } },
              // 部件/事件 classification (issue #16; docs/api.md "Reports (上报) …").
              classification: { type: 'object', additionalProperties: true },
            },
          },
        },
      },
    },
    async (_req, reply) => {
      const [rules, areas, overrides] = await Promise.all([
        listRules(deps.db),
        listAreas(deps.db),
        listCategoryOverrides(deps.db),
      ]);
      // Revalidated on every use: an admin's edit of a rule or an area shows at once.
      void reply.header('cache-control', 'private, no-cache');
      return {
        ...staticCatalog,
        thresholds: rules.filter((r) => r.enabled).flatMap(ruleThresholds),
        areas,
        classification: {
          kinds: caseKinds.map((id) => ({ id, label: caseKindLabels[id] })),
          majors: categoryMajors,
          categories: mergeCategories(overrides),
          facilityCategories,
          facilityEventCategories,
        },
      };
    },
  );
}
