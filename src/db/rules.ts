import type { RuleDefinition } from '../domain/index.js';
import type { Queryable } from './pool.js';
import { recordVersion } from './rule-store.js';

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

/** What of a rule the pack defines (all but id and version), built in SQL so jsonb equality compares it. */
const definitionOf = (r: string, facilityType = `${r}.facility_type`) =>
  `jsonb_build_object('facilityType', ${facilityType}, 'kind', ${r}.kind, 'severity', ${r}.severity,
     'title', ${r}.title, 'description', ${r}.description, 'source', ${r}.source,
     'settings', ${r}.settings, 'enabled', ${r}.enabled)`;

export interface PackUpgrade {
  /** Stored defaults the city had not edited, now at the pack's definition and their next version. */
  readonly upgraded: readonly string[];
  /** Edited by the city and kept; the newer default waits in `pack_pending` (GET /api/rules `packUpdate`). */
  readonly kept: readonly string[];
}

/**
 * Brings stored default rules up to the pack (after `insertMissingRules`): a
 * rule still equal to the pack definition it was last set from is unedited
 * and takes the new one at its next version (its history keeps the old); an
 * edited rule is kept and the newer default is recorded as pending. A rule
 * stored before the pack definition was remembered counts as unedited while
 * at version 1 (every edit takes a version). Run under the prepare lock.
 */
export async function upgradePackRules(
  db: Queryable,
  rules: readonly RuleDefinition[],
): Promise<PackUpgrade> {
  if (rules.length === 0) return { upgraded: [], kept: [] };
  const { rows } = await db.query<{
    id: string;
    def: Record<string, unknown>;
    same: boolean;
    unedited: boolean;
    packChanged: boolean;
    settled: boolean;
  }>(
    `WITH pack AS (
       SELECT d.id, ${definitionOf('d', 'd."facilityType"')} AS def
       FROM jsonb_to_recordset($1::jsonb) AS d(id text, "facilityType" text, kind text,
         severity text, title text, description text, source text, settings jsonb, enabled boolean)
     ), stored AS (
       SELECT r.id, p.def, r.pack_definition, r.pack_pending, ${definitionOf('r')} AS now,
         COALESCE(r.pack_definition, CASE WHEN r.version = 1 THEN ${definitionOf('r')} END) AS base
       FROM rules r JOIN pack p USING (id)
     )
     SELECT id, def, now = def AS same, COALESCE(now = base, false) AS unedited,
       base IS DISTINCT FROM def AS "packChanged",
       pack_definition IS NOT DISTINCT FROM def AND pack_pending IS NULL AS settled
     FROM stored ORDER BY id`,
    [JSON.stringify(rules)],
  );
  const upgraded: string[] = [];
  const kept: string[] = [];
  for (const r of rows) {
    if (r.same) {
      // Equal to the pack (new, or edited to the new default): remembered as the pack's.
      if (!r.settled)
        await db.query(
          `UPDATE rules SET pack_definition = $2::jsonb, pack_pending = NULL WHERE id = $1`,
          [r.id, JSON.stringify(r.def)],
        );
    } else if (r.unedited) {
      const { rows: next } = await db.query<RuleDefinition>(
        `UPDATE rules SET version = version + 1, facility_type = $2::jsonb->>'facilityType',
           kind = $2::jsonb->>'kind', severity = $2::jsonb->>'severity', title = $2::jsonb->>'title',
           description = $2::jsonb->>'description', source = $2::jsonb->>'source',
           settings = $2::jsonb->'settings', enabled = ($2::jsonb->>'enabled')::boolean,
           pack_definition = $2::jsonb, pack_pending = NULL, updated_at = now()
         WHERE id = $1 RETURNING ${columns}`,
        [r.id, JSON.stringify(r.def)],
      );
      await recordVersion(db, next[0]!);
      upgraded.push(r.id);
    } else if (r.packChanged) {
      // The city's edit wins; the newer default is offered, not applied.
      await db.query(`UPDATE rules SET pack_pending = $2::jsonb WHERE id = $1`, [
        r.id,
        JSON.stringify(r.def),
      ]);
      kept.push(r.id);
    } else if (!r.settled) {
      // Edited, but the pack has not moved since (again): nothing is pending.
      await db.query(
        `UPDATE rules SET pack_definition = $2::jsonb, pack_pending = NULL WHERE id = $1`,
        [r.id, JSON.stringify(r.def)],
      );
    }
  }
  return { upgraded, kept };
}

/** Newer pack definitions of rules the city edited (see `upgradePackRules`), by rule id. */
export async function listPackUpdates(
  db: Queryable,
): Promise<Map<string, Record<string, unknown>>> {
  const { rows } = await db.query<{ id: string; pending: Record<string, unknown> }>(
    `SELECT id, pack_pending AS pending FROM rules WHERE pack_pending IS NOT NULL`,
  );
  return new Map(rows.map((r) => [r.id, r.pending]));
}
