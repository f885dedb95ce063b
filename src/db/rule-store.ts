import type { OverrideScope, RuleDefinition } from '../domain/index.js';
import type { Queryable } from './pool.js';

/**
 * Rules as a city edits them (#4): versions, overrides per district, grid,
 * site or device, and the evaluator's checkpointed state. The hub reloads its
 * compiled rules after each change; nothing here is on the per-reading path.
 */

const columns = `id, version, facility_type AS "facilityType", kind, severity, title, description, source,
  settings, enabled`;

export type { OverrideScope };

export interface RuleOverride {
  readonly ruleId: string;
  readonly scope: OverrideScope;
  readonly scopeId: string;
  readonly settings: Record<string, unknown>;
  readonly enabled: boolean | null;
}

export async function getRule(db: Queryable, id: string): Promise<RuleDefinition | null> {
  const { rows } = await db.query<RuleDefinition>(`SELECT ${columns} FROM rules WHERE id = $1`, [
    id,
  ]);
  return rows[0] ?? null;
}

/** Keeps a version in the history, so an alarm citing it stays explainable after edits. */
export async function recordVersion(db: Queryable, rule: RuleDefinition): Promise<void> {
  await db.query(
    `INSERT INTO rule_versions (rule_id, version, definition) VALUES ($1, $2, $3::jsonb)
     ON CONFLICT DO NOTHING`,
    [rule.id, rule.version, JSON.stringify(rule)],
  );
}

/** Creates a rule at version 1; null when the id is taken. */
export async function createRule(
  db: Queryable,
  r: Omit<RuleDefinition, 'version'>,
): Promise<RuleDefinition | null> {
  const { rows } = await db.query<RuleDefinition>(
    `INSERT INTO rules (id, version, facility_type, kind, severity, title, description, source, settings, enabled)
     VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)
     ON CONFLICT (id) DO NOTHING RETURNING ${columns}`,
    [
      r.id,
      r.facilityType,
      r.kind,
      r.severity,
      r.title,
      r.description,
      r.source,
      JSON.stringify(r.settings),
      r.enabled,
    ],
  );
  if (rows[0]) await recordVersion(db, rows[0]);
  return rows[0] ?? null;
}

export type RuleEdit = Partial<
  Pick<RuleDefinition, 'severity' | 'title' | 'description' | 'source' | 'settings' | 'enabled'>
>;

/** Applies an edit and takes the next version, so alarms keep citing the version that fired. */
export async function editRule(
  db: Queryable,
  id: string,
  edit: RuleEdit,
): Promise<RuleDefinition | null> {
  const { rows } = await db.query<RuleDefinition>(
    `UPDATE rules SET version = version + 1,
       severity = COALESCE($2, severity), title = COALESCE($3, title),
       description = COALESCE($4, description), source = COALESCE($5, source),
       settings = COALESCE($6::jsonb, settings), enabled = COALESCE($7, enabled), updated_at = now()
     WHERE id = $1 RETURNING ${columns}`,
    [
      id,
      edit.severity ?? null,
      edit.title ?? null,
      edit.description ?? null,
      edit.source ?? null,
      edit.settings ? JSON.stringify(edit.settings) : null,
      edit.enabled ?? null,
    ],
  );
  if (rows[0]) await recordVersion(db, rows[0]);
  return rows[0] ?? null;
}

export async function listRuleVersions(db: Queryable, id: string): Promise<RuleDefinition[]> {
  const { rows } = await db.query<{ definition: RuleDefinition }>(
    `SELECT definition FROM rule_versions WHERE rule_id = $1 ORDER BY version`,
    [id],
  );
  return rows.map((r) => r.definition);
}

export async function listRuleOverrides(db: Queryable, ruleId?: string): Promise<RuleOverride[]> {
  const { rows } = await db.query<RuleOverride>(
    `SELECT rule_id AS "ruleId", scope, scope_id AS "scopeId", settings, enabled FROM rule_overrides
     WHERE ($1::text IS NULL OR rule_id = $1) ORDER BY rule_id, scope, scope_id`,
    [ruleId ?? null],
  );
  return rows;
}

export async function putRuleOverride(db: Queryable, o: RuleOverride): Promise<RuleOverride> {
  const { rows } = await db.query<RuleOverride>(
    `INSERT INTO rule_overrides (rule_id, scope, scope_id, settings, enabled)
     VALUES ($1, $2, $3, $4::jsonb, $5)
     ON CONFLICT (rule_id, scope, scope_id) DO UPDATE SET settings = EXCLUDED.settings,
       enabled = EXCLUDED.enabled, updated_at = now()
     RETURNING rule_id AS "ruleId", scope, scope_id AS "scopeId", settings, enabled`,
    [o.ruleId, o.scope, o.scopeId, JSON.stringify(o.settings), o.enabled],
  );
  return rows[0]!;
}

export async function deleteRuleOverride(
  db: Queryable,
  ruleId: string,
  scope: OverrideScope,
  scopeId: string,
): Promise<boolean> {
  const r = await db.query(
    `DELETE FROM rule_overrides WHERE rule_id = $1 AND scope = $2 AND scope_id = $3`,
    [ruleId, scope, scopeId],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Devices as the rules see them: grid, road (devices.attrs.road) and site (devices.attrs.site). */
export async function listFleet(
  db: Queryable,
): Promise<
  { id: string; type: string; gridCode: string; road: string | null; site: string | null }[]
> {
  const { rows } = await db.query<{
    id: string;
    type: string;
    gridCode: string;
    road: string | null;
    site: string | null;
  }>(
    `SELECT id, type, grid_code AS "gridCode", attrs->>'road' AS road, attrs->>'site' AS site
     FROM devices WHERE enabled`,
  );
  return rows;
}

/** Rows per upsert: a few hundred kB of JSON a statement, not one huge parameter. */
const stateBatch = 1000;

export async function saveRuleState(
  db: Queryable,
  rows: readonly { key: string; state: unknown }[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += stateBatch)
    await db.query(
      `INSERT INTO rule_state (key, state)
       SELECT key, state FROM jsonb_to_recordset($1::jsonb) AS r(key text, state jsonb)
       ON CONFLICT (key) DO UPDATE SET state = EXCLUDED.state, saved_at = now()`,
      [JSON.stringify(rows.slice(i, i + stateBatch))],
    );
}

export async function loadRuleState(db: Queryable): Promise<{ key: string; state: unknown }[]> {
  const { rows } = await db.query<{ key: string; state: unknown }>(
    `SELECT key, state FROM rule_state`,
  );
  return rows;
}
