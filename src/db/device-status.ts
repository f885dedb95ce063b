import type { Queryable } from './pool.js';

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

/** Many status changes in one statement: the broker batches them. */
export async function upsertDeviceStatuses(
  db: Queryable,
  records: readonly DeviceStatusRecord[],
): Promise<void> {
  if (records.length === 0) return;
  await db.query(
    `INSERT INTO device_status (device_id, online, last_seen, address, protocol, node_id, updated_at)
     SELECT s.device_id, s.online, s.last_seen, s.address, s.protocol, s.node_id, now()
     FROM jsonb_to_recordset($1::jsonb) AS s(
       device_id text, online boolean, last_seen timestamptz, address text, protocol text, node_id text)
     WHERE EXISTS (SELECT 1 FROM devices d WHERE d.id = s.device_id)
     ON CONFLICT (device_id) DO UPDATE SET
       online = EXCLUDED.online,
       last_seen = GREATEST(device_status.last_seen, EXCLUDED.last_seen),
       address = COALESCE(EXCLUDED.address, device_status.address),
       protocol = COALESCE(EXCLUDED.protocol, device_status.protocol),
       node_id = COALESCE(EXCLUDED.node_id, device_status.node_id),
       updated_at = now()`,
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
