import { facilityCatalog, type FacilityType } from './facilities.js';
import { communityCode, gridCode, streetCode, type Area } from './grid.js';
import { seededRandom } from './random.js';

/**
 * A reproducible demo city so a newcomer sees something on first start:
 * 湘潭市 (the city of seed 000) with 2 districts, 4 streets, 8 communities,
 * 32 grids and devices of all seven facility types. Names are illustrative.
 * Pure: the same options give the same city.
 */

export interface DemoDevice {
  readonly id: string;
  readonly type: FacilityType;
  readonly name: string;
  readonly gridCode: string;
  readonly lat: number;
  readonly lon: number;
  readonly attrs: Readonly<Record<string, string | number>>;
}

export interface DemoCity {
  readonly areas: readonly Area[];
  readonly devices: readonly DemoDevice[];
}

/** Share of each type in the fleet; streetlights dominate a real city. */
const fleetMix: readonly [FacilityType, number][] = [
  ['streetlight', 0.6],
  ['manhole', 0.15],
  ['pump_station', 0.008],
  ['waterlogging', 0.04],
  ['gas', 0.04],
  ['dust_noise', 0.06],
  ['elevator', 0.102],
];

const city = { code: '430300', name: '湘潭市' };
const districts = [
  {
    code: '430302',
    name: '雨湖区',
    streets: [
      { name: '城正街街道', communities: ['熙春路社区', '唐兴桥社区'] },
      { name: '广场街道', communities: ['大埠桥社区', '先锋社区'] },
    ],
    roads: ['建设北路', '韶山西路', '雨湖路'],
  },
  {
    code: '430304',
    name: '岳塘区',
    streets: [
      { name: '岳塘街道', communities: ['双拥社区', '湘华社区'] },
      { name: '下摄司街道', communities: ['建设社区', '湘潭大道社区'] },
    ],
    roads: ['芙蓉中路', '岳塘大道', '湘潭大道'],
  },
];
const gridsPerCommunity = 4;
const centre = { lat: 27.8297, lon: 112.9441 };

export function generateDemoCity(options: { deviceCount?: number; seed?: number } = {}): DemoCity {
  const deviceCount = options.deviceCount ?? 1000;
  const random = seededRandom(options.seed ?? 20261123);
  const areas: Area[] = [{ code: city.code, level: 'city', name: city.name, parentCode: null }];
  const grids: { code: string; lat: number; lon: number; district: number }[] = [];

  districts.forEach((d, di) => {
    areas.push({ code: d.code, level: 'district', name: d.name, parentCode: city.code });
    d.streets.forEach((s, si) => {
      const sc = streetCode(d.code, si + 1);
      areas.push({ code: sc, level: 'street', name: s.name, parentCode: d.code });
      s.communities.forEach((c, ci) => {
        const cc = communityCode(sc, ci + 1);
        areas.push({ code: cc, level: 'community', name: c, parentCode: sc });
        for (let g = 1; g <= gridsPerCommunity; g++) {
          const code = gridCode(cc, g);
          areas.push({ code, level: 'grid', name: `${c}第${g}网格`, parentCode: cc });
          // Lay grids out on a rough lattice west (雨湖) and east (岳塘) of the river.
          const row = si * 2 + ci;
          grids.push({
            code,
            lat: centre.lat + (row - 1.5) * 0.008,
            lon: centre.lon + (di === 0 ? -1 : 1) * (0.004 + (g - 1) * 0.006),
            district: di,
          });
        }
      });
    });
  });

  const devices: DemoDevice[] = [];
  // One device of every type first, the rest by share; rounding left-overs go to streetlights.
  const spare = deviceCount - fleetMix.length;
  const counts = fleetMix.map(([, share]) => 1 + Math.floor(spare * share));
  counts[0]! += deviceCount - counts.reduce((a, b) => a + b, 0);
  fleetMix.forEach(([type], i) => {
    const n = counts[i]!;
    const spec = facilityCatalog[type];
    for (let k = 1; k <= n; k++) {
      const grid = grids[Math.floor(random() * grids.length)]!;
      const district = districts[grid.district]!;
      const attrs: Record<string, string | number> = {};
      if (type === 'streetlight') attrs.road = district.roads[k % district.roads.length]!;
      if (type === 'dust_noise') attrs.site = `工地-${String(Math.ceil(k / 2)).padStart(3, '0')}`;
      if (type === 'gas') attrs.set_point_kpa = 3.0;
      devices.push({
        id: `${spec.idPrefix}-${String(k).padStart(5, '0')}`,
        type,
        name: `${spec.nameZh} ${k}`,
        gridCode: grid.code,
        lat: round6(grid.lat + (random() - 0.5) * 0.006),
        lon: round6(grid.lon + (random() - 0.5) * 0.006),
        attrs,
      });
    }
  });
  return { areas, devices };
}

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;
