import { readFile } from 'node:fs/promises';
import { isDeviceId, isFacilityType, type FacilityType } from '../domain/index.js';

/** One device's MQTT identity, as the hub writes it to `$DATA_DIR/demo-devices.csv`. */
export interface DeviceCredential {
  readonly id: string;
  readonly type: FacilityType;
  readonly gridCode: string;
  readonly name: string;
  readonly lat: number;
  readonly lon: number;
  readonly secret: string;
  /** Streetlights: the road (scripted lamp scenarios pick one road); null when not given. */
  readonly road: string | null;
}

const header = 'id,type,grid_code,name,lat,lon,secret';
/** Since #4 the hub adds the road; files without it still read. */
const headerWithRoad = `${header},road`;

/**
 * Reads a device credentials CSV. No field contains a comma (the hub writes
 * it so), hence a plain split; a bad line fails with its number so whoever
 * hand-edited the file finds it.
 */
export async function readCredentials(path: string): Promise<DeviceCredential[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        `Device credentials file ${path} not found; run \`npm start\` once to create the demo city.`,
      );
    }
    throw new Error(`Cannot read device credentials file ${path}: ${(err as Error).message}`);
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const first = lines[0]?.trim();
  if (first !== header && first !== headerWithRoad) {
    throw new Error(`${path}:1: expected the header "${headerWithRoad}".`);
  }
  const width = first === header ? 7 : 8;
  const devices: DeviceCredential[] = [];
  lines.slice(1).forEach((line, i) => {
    if (line.trim() === '') return;
    devices.push(parseLine(line, `${path}:${i + 2}`, width));
  });
  return devices;
}

function parseLine(line: string, where: string, width: number): DeviceCredential {
  const fields = line.split(',').map((f) => f.trim());
  if (fields.length !== width) {
    throw new Error(`${where}: expected ${width} comma-separated fields, found ${fields.length}.`);
  }
  const [id, type, gridCode, name, lat, lon, secret] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (!isDeviceId(id)) throw new Error(`${where}: "${id}" is not a valid device id.`);
  if (!isFacilityType(type)) throw new Error(`${where}: unknown facility type "${type}".`);
  const latitude = Number(lat);
  const longitude = Number(lon);
  if (lat === '' || !Number.isFinite(latitude) || Math.abs(latitude) > 90) {
    throw new Error(`${where}: latitude "${lat}" is not a number between -90 and 90.`);
  }
  if (lon === '' || !Number.isFinite(longitude) || Math.abs(longitude) > 180) {
    throw new Error(`${where}: longitude "${lon}" is not a number between -180 and 180.`);
  }
  if (secret === '') throw new Error(`${where}: the secret is empty.`);
  const road = fields[7] ? fields[7] : null;
  return { id, type, gridCode, name, lat: latitude, lon: longitude, secret, road };
}
