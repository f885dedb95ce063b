import { Ajv, type ValidateFunction } from 'ajv';
import type { FastifyInstance } from 'fastify';
import {
  createRule,
  deleteRuleOverride,
  editRule,
  getRule,
  listPackUpdates,
  listRuleOverrides,
  listRules,
  listRuleVersions,
  putRuleOverride,
  type OverrideScope,
  type Queryable,
} from '../db/index.js';
import {
  HubError,
  facilityTypes,
  overrideScopes,
  severities,
  timeZoneProblem,
  type RuleDefinition,
} from '../domain/index.js';
import { anyUser, requireRole } from './auth.js';
import { isTickKind, mergeSettings, ruleKindNames, ruleKinds } from '../rules/index.js';

/** What makes the groups of a fleet-wide rule: one rule, one grouping, so an override cannot change it. */
const groupingSettings = ['groupBy', 'facilityType', 'faultRules'] as const;

export interface RulesRoutesDeps {
  readonly db: Queryable;
  /** Recompiles the evaluator's rules from the database: changes apply without a restart. */
  readonly reloadRules?: () => Promise<void>;
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validators = new Map<string, ValidateFunction>();
function validatorOf(kind: string): ValidateFunction | null {
  const schema = ruleKinds[kind]?.settingsSchema;
  if (!schema) return null;
  let v = validators.get(kind);
  if (!v) validators.set(kind, (v = ajv.compile(schema)));
  return v;
}

/** Problems with a rule's kind and settings, as sentences; empty when valid. */
export function validateRule(r: { kind: string; settings: unknown }): string[] {
  const validate = validatorOf(r.kind);
  if (!validate) return [`kind must be one of ${ruleKindNames.join(', ')}`];
  if (!validate(r.settings))
    return (validate.errors ?? []).map(
      (e) => `settings${e.instancePath} ${e.message ?? 'invalid'}`,
    );
  return unknownTimeZones(r.settings, 'settings');
}

/** A schedule's `timeZone` must be one the runtime knows: the evaluator would throw on it. */
function unknownTimeZones(value: unknown, path: string): string[] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, v]) =>
    key === 'timeZone' && typeof v === 'string' && timeZoneProblem(v) !== null
      ? [`${path}/${key} must be an IANA time zone such as Asia/Shanghai`]
      : unknownTimeZones(v, `${path}/${key}`),
  );
}

const idPattern = '^[a-z_]+\\.[a-z0-9_]+$';
const ruleBody = {
  type: 'object',
  required: [
    'id',
    'facilityType',
    'kind',
    'severity',
    'title',
    'description',
    'source',
    'settings',
  ],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: idPattern, maxLength: 100 },
    facilityType: { enum: [...facilityTypes, 'all'] },
    kind: { type: 'string' },
    severity: { enum: [...severities] },
    title: { type: 'string', minLength: 1, maxLength: 200 },
    description: { type: 'string', minLength: 1, maxLength: 2000 },
    // Every rule cites its source (docs/domain.md): no empty citations.
    source: { type: 'string', minLength: 3, maxLength: 2000 },
    settings: { type: 'object' },
    enabled: { type: 'boolean', default: true },
  },
} as const;
const editBody = {
  type: 'object',
  minProperties: 1,
  additionalProperties: false,
  properties: {
    severity: ruleBody.properties.severity,
    title: ruleBody.properties.title,
    description: ruleBody.properties.description,
    source: ruleBody.properties.source,
    settings: ruleBody.properties.settings,
    enabled: ruleBody.properties.enabled,
  },
} as const;

/** /api/rules (docs/api.md, docs/rules.md). */
export function registerRulesRoutes(api: FastifyInstance, deps: RulesRoutesDeps): void {
  const { db } = deps;
  const guard = requireRole('supervisor');
  const reload = async () => deps.reloadRules?.();
  const mustGet = async (id: string): Promise<RuleDefinition> => {
    const rule = await getRule(db, id);
    if (!rule) throw new HubError('HUB_ERR_RULE_UNKNOWN', id);
    return rule;
  };
  const mustBeValid = (r: { kind: string; settings: unknown }) => {
    const problems = validateRule(r);
    if (problems.length > 0) throw new HubError('HUB_ERR_RULE_INVALID', problems.join('; '));
  };

  api.get('/rules', anyUser, async () => {
    const updates = await listPackUpdates(db);
    // A newer default the city's edit kept out (pack upgrades, docs/rules.md).
    const rules = (await listRules(db)).map((r) => {
      const packUpdate = updates.get(r.id);
      return packUpdate ? { ...r, packUpdate } : r;
    });
    return { rules };
  });

  api.get('/rules/kinds', anyUser, async () => ({
    kinds: ruleKindNames.map((name) => ({ name, settingsSchema: ruleKinds[name]!.settingsSchema })),
  }));

  api.get<{ Params: { id: string } }>('/rules/:id', anyUser, async (req) => {
    const rule = await mustGet(req.params.id);
    return {
      ...rule,
      overrides: await listRuleOverrides(db, rule.id),
      versions: (await listRuleVersions(db, rule.id)).map((v) => v.version),
    };
  });

  api.post<{ Body: { kind: string; settings: unknown } }>(
    '/rules/validate',
    {
      ...anyUser,
      schema: {
        body: {
          type: 'object',
          required: ['kind', 'settings'],
          properties: { kind: { type: 'string' }, settings: {} },
        },
      },
    },
    async (req) => {
      const problems = validateRule(req.body);
      return { valid: problems.length === 0, problems };
    },
  );

  api.post<{ Body: Omit<RuleDefinition, 'version'> }>(
    '/rules',
    { schema: { body: ruleBody }, ...guard },
    async (req, reply) => {
      mustBeValid(req.body);
      const created = await createRule(db, req.body);
      if (!created) throw new HubError('HUB_ERR_RULE_EXISTS', req.body.id);
      await reload();
      return reply.status(201).send(created);
    },
  );

  api.patch<{ Params: { id: string }; Body: Partial<RuleDefinition> }>(
    '/rules/:id',
    { schema: { body: editBody }, ...guard },
    async (req) => {
      const current = await mustGet(req.params.id);
      if (req.body.settings) mustBeValid({ kind: current.kind, settings: req.body.settings });
      const edited = await editRule(db, current.id, req.body);
      await reload();
      return edited;
    },
  );

  for (const [path, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    api.post<{ Params: { id: string } }>(`/rules/:id/${path}`, guard, async (req) => {
      const current = await mustGet(req.params.id);
      const edited =
        current.enabled === enabled ? current : await editRule(db, current.id, { enabled });
      await reload();
      return edited;
    });
  }

  api.put<{
    Params: { id: string; scope: OverrideScope; scopeId: string };
    Body: { settings?: Record<string, unknown>; enabled?: boolean | null };
  }>(
    '/rules/:id/overrides/:scope/:scopeId',
    {
      schema: {
        params: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            scope: { enum: [...overrideScopes] },
            scopeId: { type: 'string', minLength: 1 },
          },
        },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { settings: { type: 'object' }, enabled: { type: ['boolean', 'null'] } },
        },
      },
      ...guard,
    },
    async (req) => {
      const rule = await mustGet(req.params.id);
      const settings = req.body.settings ?? {};
      const regrouped = isTickKind(rule.kind)
        ? groupingSettings.filter((k) => Object.hasOwn(settings, k))
        : [];
      if (regrouped.length > 0)
        throw new HubError(
          'HUB_ERR_RULE_INVALID',
          `settings.${regrouped.join(', settings.')} decides the groups of a fleet-wide rule; an override changes a group's settings, not the grouping`,
        );
      // Validated as it will apply: merged deeply over the rule's own settings.
      mustBeValid({ kind: rule.kind, settings: mergeSettings(rule.settings, settings) });
      const saved = await putRuleOverride(db, {
        ruleId: rule.id,
        scope: req.params.scope,
        scopeId: req.params.scopeId,
        settings,
        enabled: req.body.enabled ?? null,
      });
      await reload();
      return saved;
    },
  );

  api.delete<{ Params: { id: string; scope: OverrideScope; scopeId: string } }>(
    '/rules/:id/overrides/:scope/:scopeId',
    guard,
    async (req, reply) => {
      const removed = await deleteRuleOverride(
        db,
        req.params.id,
        req.params.scope,
        req.params.scopeId,
      );
      if (!removed) throw new HubError('HUB_ERR_NOT_FOUND', 'no such override');
      await reload();
      return reply.status(204).send();
    },
  );
}
