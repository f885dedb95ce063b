import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { generateDemoCity, generateSecret, hashDeviceSecret } from '../domain/index.js';
import { insertAreas } from './areas.js';
import { countDevices, insertDevices } from './devices.js';
import type { Pool } from './pool.js';

export const demoCredentialsFile = 'demo-devices.csv';

export interface DemoCredential {
  readonly id: string;
  readonly type: string;
  readonly gridCode: string;
  readonly secret: string;
}

/**
 * On first start with no devices, seeds the demo city and writes the devices'
 * secrets, which the database stores only hashed, to `<dataDir>/demo-devices.csv`
 * (mode 0600) so a newcomer can connect `mosquitto_pub` or the simulators.
 */
export async function seedDemoCityIfEmpty(
  pool: Pool,
  options: { dataDir: string; deviceCount: number; logger: Logger },
): Promise<DemoCredential[] | null> {
  if ((await countDevices(pool)) > 0) return null;
  const city = generateDemoCity({ deviceCount: options.deviceCount });
  const secrets = city.devices.map(() => generateSecret());
  const hashes = secrets.map(hashDeviceSecret);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await insertAreas(client, city.areas);
    await insertDevices(
      client,
      city.devices.map((d, i) => ({ ...d, secretHash: hashes[i]! })),
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
  // road: the simulator's scripted lamp scenarios pick the lamps of one road.
  const lines = ['id,type,grid_code,name,lat,lon,secret,road'];
  city.devices.forEach((d, i) =>
    lines.push(
      [d.id, d.type, d.gridCode, d.name, d.lat, d.lon, secrets[i], d.attrs.road ?? ''].join(','),
    ),
  );
  await mkdir(options.dataDir, { recursive: true });
  const file = path.join(options.dataDir, demoCredentialsFile);
  await writeFile(file, lines.join('\n') + '\n', { mode: 0o600 });
  options.logger.info(
    { devices: city.devices.length, areas: city.areas.length, credentials: file },
    'demo city seeded',
  );
  return city.devices.map((d, i) => ({
    id: d.id,
    type: d.type,
    gridCode: d.gridCode,
    secret: secrets[i]!,
  }));
}
