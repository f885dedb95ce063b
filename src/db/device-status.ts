import type { DeviceStatusChange } from '../domain/index.js';
import type { Pool, Queryable } from './pool.js';

/** Transaction advisory lock of status versions ("HUBd"): they commit in order (decision 0162). */
export const deviceStatusLockKey = 0x48_55_42_64;
/** Notified when a status change with a version commits. */
export const deviceStatusChannel = 'hub_device_status';

/** A device's connection state as the broker last saw it (#6). */
export interface DeviceStatusRecord {
  readonly deviceId: string;
  readonly online: boolean;
  /** ISO 8601. */
  readonly lastSeen: string;
  readonly address: string | null;
  /** `mqtt`, `mqtts` or `ws`. */
  readonly protocol: string | null;
  readonly nodeId: string | null;
}

/**
 * Many status changes in one statement: the broker batches them (once a
 * second per node). A flip of `online` takes the next status version, under
 * the lock so versions commit in order, and is notified for the screens.
 */
export async function upsertDeviceStatuses(
  pool: Pool,
  records: readonly DeviceStatusRecord[],
): Promise<void> {
  if (records.length === 0) return;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [deviceStatusLockKey]);
    await client.query(
      `INSERT INTO device_status (device_id, online, last_seen, address, protocol, node_id, updated_at,
                                  version, status_changed_at)
       SELECT s.device_id, s.online, s.last_seen, s.address, s.protocol, s.node_id, now(),
              nextval('device_status_version_seq'), s.last_seen
       FROM jsonb_to_recordset($1::jsonb) AS s(
         device_id text, online boolean, last_seen timestamptz, address text, protocol text, node_id text)
       WHERE EXISTS (SELECT 1 FROM devices d WHERE d.id = s.device_id)
       ON CONFLICT (device_id) DO UPDATE SET
         online = EXCLUDED.online,
         last_seen = GREATEST(device_status.last_seen, EXCLUDED.last_seen),
         address = COALESCE(EXCLUDED.address, device_status.address),
         protocol = COALESCE(EXCLUDED.protocol, device_status.protocol),
         node_id = COALESCE(EXCLUDED.node_id, device_status.node_id),
         updated_at = now(),
         -- Only a flip is news for a screen; the insert's value is used, so no second nextval.
         version = CASE WHEN device_status.online IS DISTINCT FROM EXCLUDED.online
                        THEN EXCLUDED.version ELSE device_status.version END,
         status_changed_at = CASE WHEN device_status.online IS DISTINCT FROM EXCLUDED.online
                                  THEN EXCLUDED.last_seen ELSE device_status.status_changed_at END`,
      [
        JSON.stringify(
          records.map((r) => ({
            device_id: r.deviceId,
            online: r.online,
            last_seen: r.lastSeen,
            address: r.address,
            protocol: r.protocol,
            node_id: r.nodeId,
          })),
        ),
      ],
    );
    // At most once a second per broker node: cheaper than telling flips from refreshes.
    await client.query(`SELECT pg_notify($1, '')`, [deviceStatusChannel]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** Status flips after `after`, oldest first: what a node's status feed sends on. */
export async function deviceStatusChangesAfter(
  db: Queryable,
  after: number,
  limit: number,
  upTo = Number.MAX_SAFE_INTEGER,
): Promise<(DeviceStatusChange & { version: number })[]> {
  const { rows } = await db.query<DeviceStatusChange & { version: number }>(
    `SELECT device_id AS "deviceId", online, status_changed_at AS at, version FROM device_status
     WHERE version > $1 AND version <= $3 ORDER BY version LIMIT $2`,
    [after, limit, upTo],
  );
  return rows;
}

export async function newestDeviceStatusVersion(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ v: number }>(
    `SELECT coalesce(max(version), 0)::bigint AS v FROM device_status`,
  );
  return rows[0]!.v;
}

/**
 * Every registered device's status, compact for 100,000 devices: ids and
 * 0/1 in id order (a device that never connected is offline).
 */
export async function deviceStatusSnapshot(
  db: Queryable,
): Promise<{ ids: string[]; online: (0 | 1)[] }> {
  const { rows } = await db.query<{ ids: string[] | null; online: (0 | 1)[] | null }>(
    `SELECT array_agg(d.id ORDER BY d.id) AS ids,
            array_agg(CASE WHEN s.online THEN 1 ELSE 0 END ORDER BY d.id) AS online
     FROM devices d LEFT JOIN device_status s ON s.device_id = d.id`,
  );
  return { ids: rows[0]?.ids ?? [], online: rows[0]?.online ?? [] };
}

export async function getDeviceStatuses(
  db: Queryable,
  ids: readonly string[],
): Promise<Map<string, DeviceStatusRecord>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<DeviceStatusRecord>(
    `SELECT device_id AS "deviceId", online, last_seen AS "lastSeen", address, protocol,
            node_id AS "nodeId"
     FROM device_status WHERE device_id = ANY($1)`,
    [ids],
  );
  return new Map(rows.map((r) => [r.deviceId, r]));
}
