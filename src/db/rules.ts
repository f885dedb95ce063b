import type { RuleDefinition } from '../domain/index.js';
import type { Queryable } from './pool.js';

const columns = `id, version, facility_type AS "facilityType", kind, severity, title, description, source,
  settings, enabled`;

/** Adds rules the database does not have yet; a city's edits to existing ones are kept. */
export async function insertMissingRules(
  db: Queryable,
  rules: readonly RuleDefinition[],
): Promise<number> {
  if (rules.length === 0) return 0;
  const result = await db.query(
    `INSERT INTO rules (id, version, facility_type, kind, severity, title, description, source, settings, enabled)
     SELECT id, version, "facilityType", kind, severity, title, description, source, settings, enabled
     FROM jsonb_to_recordset($1::jsonb) AS r(id text, version int, "facilityType" text, kind text,
       severity text, title text, description text, source text, settings jsonb, enabled boolean)
     ON CONFLICT (id) DO NOTHING`,
    [JSON.stringify(rules)],
  );
  // Version 1 of each rule in its history, so an alarm citing it stays explainable after edits.
  await db.query(
    `INSERT INTO rule_versions (rule_id, version, definition)
     SELECT r.id, r.version, to_jsonb(d) FROM rules r
     JOIN jsonb_to_recordset($1::jsonb) AS d(id text, version int, "facilityType" text, kind text,
       severity text, title text, description text, source text, settings jsonb, enabled boolean)
       ON d.id = r.id AND d.version = r.version
     ON CONFLICT DO NOTHING`,
    [JSON.stringify(rules)],
  );
  return result.rowCount ?? 0;
}

export async function listRules(db: Queryable): Promise<RuleDefinition[]> {
  const { rows } = await db.query<RuleDefinition>(`SELECT ${columns} FROM rules ORDER BY id`);
  return rows;
}
