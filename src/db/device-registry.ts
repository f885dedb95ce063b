import type { DeviceIdentity, DeviceRow } from './devices.js';
import type { Queryable } from './pool.js';

/**
 * Writes of the device registry (#6): update, enable/disable, rotate a
 * secret, import many at once. Reads stay in devices.ts.
 */

export interface DeviceChanges {
  readonly name?: string;
  readonly gridCode?: string;
  readonly lat?: number | null;
  readonly lon?: number | null;
  readonly attrs?: Record<string, unknown>;
  readonly enabled?: boolean;
}

const returning = `id, type, name, grid_code AS "gridCode", lat, lon, attrs, enabled, created_at AS "createdAt"`;

export async function updateDevice(
  db: Queryable,
  id: string,
  changes: DeviceChanges,
): Promise<DeviceRow | null> {
  const { rows } = await db.query<DeviceRow>(
    `UPDATE devices SET
       name = COALESCE($2, name),
       grid_code = COALESCE($3, grid_code),
       lat = CASE WHEN $4::boolean THEN $5::float8 ELSE lat END,
       lon = CASE WHEN $6::boolean THEN $7::float8 ELSE lon END,
       attrs = COALESCE($8::jsonb, attrs),
       enabled = COALESCE($9, enabled)
     WHERE id = $1 RETURNING ${returning}`,
    [
      id,
      changes.name ?? null,
      changes.gridCode ?? null,
      changes.lat !== undefined,
      changes.lat ?? null,
      changes.lon !== undefined,
      changes.lon ?? null,
      changes.attrs ? JSON.stringify(changes.attrs) : null,
      changes.enabled ?? null,
    ],
  );
  return rows[0] ?? null;
}

export async function setDeviceSecretHash(
  db: Queryable,
  id: string,
  secretHash: string,
): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE devices SET secret_hash = $2 WHERE id = $1', [
    id,
    secretHash,
  ]);
  return rowCount === 1;
}

/**
 * Stores the fast form of device secrets whose legacy hash a CONNECT just
 * verified (decision 0135), one statement per batch; a row whose hash changed
 * meanwhile (re-keyed) keeps its new hash. Returns the rows changed.
 */
export async function upgradeDeviceSecretHashes(
  db: Queryable,
  upgrades: readonly { id: string; before: string; secretHash: string }[],
): Promise<number> {
  if (upgrades.length === 0) return 0;
  const { rowCount } = await db.query(
    `UPDATE devices d SET secret_hash = u.secret_hash
       FROM jsonb_to_recordset($1::jsonb) AS u(id text, before text, secret_hash text)
      WHERE d.id = u.id AND d.secret_hash = u.before`,
    [
      JSON.stringify(
        upgrades.map((u) => ({ id: u.id, before: u.before, secret_hash: u.secretHash })),
      ),
    ],
  );
  return rowCount ?? 0;
}

export async function getDeviceIdentity(db: Queryable, id: string): Promise<DeviceIdentity | null> {
  const { rows } = await db.query<DeviceIdentity>(
    `SELECT id, type, grid_code AS "gridCode", secret_hash AS "secretHash", enabled
     FROM devices WHERE id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

/** Which of these ids are registered already, in any case (fx-001 = FX-001); lower-cased. */
export async function existingDeviceIds(
  db: Queryable,
  ids: readonly string[],
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const { rows } = await db.query<{ id: string }>(
    'SELECT lower(id) AS id FROM devices WHERE lower(id) = ANY($1)',
    [ids.map((id) => id.toLowerCase())],
  );
  return new Set(rows.map((r) => r.id));
}

/** Which of these grid codes exist. */
export async function existingGridCodes(
  db: Queryable,
  codes: readonly string[],
): Promise<Set<string>> {
  if (codes.length === 0) return new Set();
  const { rows } = await db.query<{ code: string }>(
    `SELECT code FROM areas WHERE level = 'grid' AND code = ANY($1)`,
    [codes],
  );
  return new Set(rows.map((r) => r.code));
}
