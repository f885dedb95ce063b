import { HubError, type FacilityType } from '../domain/index.js';
import type { Queryable } from './pool.js';
import { violationAs } from './sql-errors.js';

export interface DeviceRow {
  readonly id: string;
  readonly type: FacilityType;
  readonly name: string;
  readonly gridCode: string;
  readonly lat: number | null;
  readonly lon: number | null;
  readonly attrs: Record<string, unknown>;
  readonly enabled: boolean;
  readonly createdAt: string;
}

/** What the broker and ingest keep in memory per device: no DB round trip per message. */
export interface DeviceIdentity {
  readonly id: string;
  readonly type: FacilityType;
  readonly gridCode: string;
  readonly secretHash: string;
  readonly enabled: boolean;
}

export interface NewDevice {
  readonly id: string;
  readonly type: FacilityType;
  readonly name: string;
  readonly gridCode: string;
  readonly lat?: number | null;
  readonly lon?: number | null;
  readonly attrs?: Record<string, unknown>;
  readonly secretHash: string;
}

const columns = `id, type, name, grid_code AS "gridCode", lat, lon, attrs, enabled, created_at AS "createdAt"`;

/** HUB_ERR_DEVICE_EXISTS when an id was registered meanwhile (the unique index on lower(id)). */
export async function insertDevices(db: Queryable, devices: readonly NewDevice[]): Promise<void> {
  if (devices.length === 0) return;
  await db
    .query(
      `INSERT INTO devices (id, type, name, grid_code, lat, lon, attrs, secret_hash)
     SELECT * FROM jsonb_to_recordset($1::jsonb) AS d(
       id text, type text, name text, grid_code text, lat float8, lon float8, attrs jsonb, secret_hash text)`,
      [
        JSON.stringify(
          devices.map((d) => ({
            id: d.id,
            type: d.type,
            name: d.name,
            grid_code: d.gridCode,
            lat: d.lat ?? null,
            lon: d.lon ?? null,
            attrs: d.attrs ?? {},
            secret_hash: d.secretHash,
          })),
        ),
      ],
    )
    .catch(violationAs({ unique: new HubError('HUB_ERR_DEVICE_EXISTS', 'registered meanwhile') }));
}

export async function countDevices(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM devices');
  return rows[0]!.n;
}

export async function listDeviceIdentities(db: Queryable): Promise<DeviceIdentity[]> {
  const { rows } = await db.query<DeviceIdentity>(
    `SELECT id, type, grid_code AS "gridCode", secret_hash AS "secretHash", enabled FROM devices`,
  );
  return rows;
}

export interface DeviceFilter {
  readonly type?: string;
  readonly gridCode?: string;
  readonly limit: number;
  readonly offset: number;
}

export async function listDevices(
  db: Queryable,
  filter: DeviceFilter,
): Promise<{ total: number; devices: DeviceRow[] }> {
  const where = `WHERE ($1::text IS NULL OR type = $1) AND ($2::text IS NULL OR grid_code LIKE $2 || '%')`;
  const params = [filter.type ?? null, filter.gridCode ?? null];
  const [total, page] = await Promise.all([
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM devices ${where}`, params),
    db.query<DeviceRow>(`SELECT ${columns} FROM devices ${where} ORDER BY id LIMIT $3 OFFSET $4`, [
      ...params,
      filter.limit,
      filter.offset,
    ]),
  ]);
  return { total: total.rows[0]!.n, devices: page.rows };
}

export async function getDevice(db: Queryable, id: string): Promise<DeviceRow | null> {
  const { rows } = await db.query<DeviceRow>(`SELECT ${columns} FROM devices WHERE id = $1`, [id]);
  return rows[0] ?? null;
}
