import type { Area } from '../domain/index.js';
import type { Queryable } from './pool.js';

/** Areas must come parents first (the demo city generator yields them so). */
export async function insertAreas(db: Queryable, areas: readonly Area[]): Promise<void> {
  if (areas.length === 0) return;
  await db.query(
    `INSERT INTO areas (code, level, name, parent_code)
     SELECT * FROM jsonb_to_recordset($1::jsonb) AS a(code text, level text, name text, parent_code text)
     ON CONFLICT (code) DO NOTHING`,
    [
      JSON.stringify(
        areas.map((a) => ({
          code: a.code,
          level: a.level,
          name: a.name,
          parent_code: a.parentCode,
        })),
      ),
    ],
  );
}

export async function listAreas(db: Queryable): Promise<Area[]> {
  const { rows } = await db.query<Area>(
    `SELECT code, level, name, parent_code AS "parentCode" FROM areas ORDER BY code`,
  );
  return rows;
}
