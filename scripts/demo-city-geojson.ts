// Writes web/src/map/demo-city.geo.json: district, street, community and grid
// outlines of the demo city (src/domain/demo-city.ts) around Xiangtan, so the
// map has boundaries with no GIS data at hand (issue #13). Generated, committed;
// run again after changing the demo city's layout:
//   npx tsx scripts/demo-city-geojson.ts
// A grid's outline is the box its devices are scattered in, measured from a
// 100,000-device city (the layout does not depend on the device count).
import { writeFileSync } from 'node:fs';
import { generateDemoCity, parseGridCode, type Area } from '../src/domain/index.js';

const { areas, devices } = generateDemoCity({ deviceCount: 100_000 });
type Box = [number, number, number, number]; // west, south, east, north
const boxes = new Map<string, Box>();
const grow = (code: string, lon: number, lat: number) => {
  const b = boxes.get(code);
  if (!b) boxes.set(code, [lon, lat, lon, lat]);
  else {
    b[0] = Math.min(b[0], lon);
    b[1] = Math.min(b[1], lat);
    b[2] = Math.max(b[2], lon);
    b[3] = Math.max(b[3], lat);
  }
};
for (const d of devices) {
  const a = parseGridCode(d.gridCode)!;
  for (const code of [a.grid, a.community, a.street, a.district]) grow(code, d.lon, d.lat);
}
const r = (x: number) => Math.round(x * 1e4) / 1e4;
const features = areas
  .filter((a: Area) => a.level !== 'city' && boxes.has(a.code))
  .map((a: Area) => {
    const [w, s, e, n] = boxes.get(a.code)!.map(r) as Box;
    return {
      type: 'Feature' as const,
      properties: { code: a.code, level: a.level, name: a.name, parentCode: a.parentCode },
      geometry: {
        type: 'Polygon' as const,
        coordinates: [
          [
            [w, s],
            [e, s],
            [e, n],
            [w, n],
            [w, s],
          ],
        ],
      },
    };
  });
const out = new URL('../web/src/map/demo-city.geo.json', import.meta.url);
writeFileSync(out, JSON.stringify({ type: 'FeatureCollection', features }) + '\n');
console.log(`wrote ${features.length} outlines to ${out.pathname}`);
