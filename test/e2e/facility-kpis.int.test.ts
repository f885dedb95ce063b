import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../support/databases.js';
import { authed, startTestHub, type TestHub } from '../support/hub.js';

/**
 * Facility KPIs (domain.md, "KPIs": lighting rate, facility integrity rate and
 * online rate) against a fixture computed by hand, on a district of its own
 * (439901, under the demo city 430300) so the demo devices stay out of it.
 * Snapshot at 2026-11-20 22:00 China Standard Time (14:00 UTC): lighting hours.
 * On every backend: embedded PostgreSQL, the machine server (TEST_DATABASE_URL),
 * TimescaleDB (telemetry_5m a hypertable there).
 */
const G1 = '439901001001001';
const G2 = '439901001001002';
const asOf = '2026-11-20T14:00:00.000Z';

/** id, type, grid, latest reading (UTC) and data, enabled. */
const devices: [string, string, string, string | null, Record<string, unknown>, boolean][] = [
  // Online (2 min old, interval 5 min × 3), lit.
  ['KPI-SL1', 'streetlight', G1, '2026-11-20T13:58:00Z', { current: 0.4 }, true],
  // Online, dark (0 A), and an open component case: faulty.
  ['KPI-SL2', 'streetlight', G1, '2026-11-20T13:59:00Z', { current: 0 }, true],
  // Last reading 2 h ago (> 15 min): offline, so not counted lit, still due on.
  ['KPI-SL3', 'streetlight', G1, '2026-11-20T12:00:00Z', { current: 0.5 }, true],
  // Manhole, 1 h old (interval 30 min × 3 = 90 min): online; its case is closed: intact.
  ['KPI-MH1', 'manhole', G1, '2026-11-20T13:00:00Z', { tilt: 1 }, true],
  // No current, on = true: lit; its case is handled (fix reported): intact.
  ['KPI-SL4', 'streetlight', G2, '2026-11-20T13:59:00Z', { on: true }, true],
  // Never reported: offline; open component case: faulty.
  ['KPI-EL1', 'elevator', G2, null, {}, true],
  // Online; an open event case (ponding) is no fault of the facility: intact.
  ['KPI-WL1', 'waterlogging', G2, '2026-11-20T13:59:00Z', { depth: 30 }, true],
  // Disabled: counted nowhere.
  ['KPI-SL5', 'streetlight', G2, '2026-11-20T13:59:00Z', { current: 0.4 }, false],
];

/** device, kind, state. */
const cases: [string, 'component' | 'event', string][] = [
  ['KPI-SL2', 'component', 'dispatched'],
  ['KPI-MH1', 'component', 'closed'],
  ['KPI-SL4', 'component', 'handled'],
  ['KPI-EL1', 'component', 'in_handling'],
  ['KPI-WL1', 'event', 'in_handling'],
];

/**
 * 5-minute rollups for the lighting rate over two nights, with the lighting
 * schedule set to the timetable 18:00–06:00 local: 144 buckets a night.
 * [device, metric, first bucket (UTC), buckets, n, sum].
 */
const rollups: [string, string, string, number, number, number][] = [
  // SL1: night of the 19th lit all night (144); the 20th lit 6 h (72), then 0.01 A (dark).
  ['KPI-SL1', 'current', '2026-11-19T10:00:00Z', 144, 1, 0.4],
  ['KPI-SL1', 'current', '2026-11-20T10:00:00Z', 72, 1, 0.4],
  ['KPI-SL1', 'current', '2026-11-20T16:00:00Z', 72, 1, 0.01],
  // Daytime (12:00 local): outside lighting hours, not counted.
  ['KPI-SL1', 'current', '2026-11-20T04:00:00Z', 12, 1, 0.4],
  // SL2: `on` only, half the readings on: 0.5 × 144 = 72 on the 19th.
  ['KPI-SL2', 'on', '2026-11-19T10:00:00Z', 144, 2, 1],
  // SL4: on the 19th says on but draws 0.04 A (under 0.05 A): current wins, dark; the 20th 9 h lit (108).
  ['KPI-SL4', 'current', '2026-11-19T10:00:00Z', 144, 2, 0.08],
  ['KPI-SL4', 'on', '2026-11-19T10:00:00Z', 144, 1, 1],
  ['KPI-SL4', 'current', '2026-11-20T10:00:00Z', 108, 1, 0.3],
  // Disabled lamp: counted nowhere.
  ['KPI-SL5', 'current', '2026-11-19T10:00:00Z', 144, 1, 0.4],
];

describe.each(backends())('facility KPIs on $name', (backend) => {
  let t: TestHub;

  beforeAll(async () => {
    t = await startTestHub(
      {
        CASE_TICK_INTERVAL_MS: '3600000',
        // The in-process TimescaleDB serves one connection at a time.
        ...(backend.name === 'timescaledb' ? { DATABASE_POOL_MAX: '1' } : {}),
      },
      await backend.create(),
    );
    const db = t.hub.db.pool;
    await db.query(
      `INSERT INTO areas (code, level, name, parent_code) VALUES
           ('439901', 'district', '测试区', '430300'),
           ('439901001', 'street', '测试街道', '439901'),
           ('439901001001', 'community', '测试社区', '439901001'),
           ($1, 'grid', '网格一', '439901001001'), ($2, 'grid', '网格二', '439901001001')`,
      [G1, G2],
    );
    for (const [id, type, grid, latestAt, data, enabled] of devices) {
      await db.query(
        `INSERT INTO devices (id, type, name, grid_code, secret_hash, enabled)
           VALUES ($1, $2, $1, $3, 'fixture', $4)`,
        [id, type, grid, enabled],
      );
      if (latestAt) {
        await db.query(`INSERT INTO device_latest (device_id, time, data) VALUES ($1, $2, $3)`, [
          id,
          latestAt,
          JSON.stringify(data),
        ]);
      }
    }
    let n = 0;
    for (const [deviceId, kind, state] of cases) {
      await db.query(
        `INSERT INTO cases (code, state, kind, severity, title, device_id, grid_code, source,
             created_at, updated_at)
           SELECT $1, $2, $3, 'minor', 'fixture', d.id, d.grid_code, 'other', $4, $4
           FROM devices d WHERE d.id = $5`,
        [`FKPI-${++n}`, state, kind, '2026-11-20T01:00:00Z', deviceId],
      );
    }
    for (const [deviceId, metric, first, count, readings, sum] of rollups) {
      await db.query(
        `INSERT INTO telemetry_5m (device_id, metric, bucket, n, sum, min, max)
           SELECT $1, $2, g, $4::int, $5::float8, $5::float8 / $4::int, $5::float8 / $4::int
           FROM generate_series($3::timestamptz, $3::timestamptz + ($6::int - 1) * INTERVAL '5 minutes',
                                INTERVAL '5 minutes') g`,
        [deviceId, metric, first, readings, sum, count],
      );
    }
    await db.query(
      `UPDATE rules SET settings = jsonb_set(settings, '{hours,timetable}', '{"on": "18:00", "off": "06:00"}')
         WHERE id = 'streetlight.lighting_rate_district'`,
    );
  });
  afterAll(async () => {
    await t?.stop();
  });

  const get = async (path: string) => {
    const res = await authed(t.adminToken)(`${t.httpUrl}/api/kpis/${path}`);
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as { lightingTime?: boolean; rows: Record<string, unknown>[] };
  };

  it('gives integrity, online and lighting rates per grid, with a breakdown by type', async () => {
    const body = await get(`facilities?level=grid&area=439901&asOf=${asOf}`);
    expect(body.lightingTime).toBe(true);
    expect(body.rows).toEqual([
      {
        area: G1,
        name: '网格一',
        facilities: 4,
        faulty: 1, // SL2
        online: 3, // SL1, SL2, MH1
        integrityRate: 0.75, // (4 − 1) ÷ 4
        onlineRate: 0.75, // 3 ÷ 4
        lampsDue: 3,
        lampsLit: 1, // SL1; SL3 is silent
        lightingRate: 0.3333, // 1 ÷ 3
        byType: {
          manhole: { facilities: 1, faulty: 0, online: 1, integrityRate: 1, onlineRate: 1 },
          streetlight: {
            facilities: 3,
            faulty: 1,
            online: 2,
            integrityRate: 0.6667,
            onlineRate: 0.6667,
            lampsDue: 3,
            lampsLit: 1,
            lightingRate: 0.3333,
          },
        },
      },
      {
        area: G2,
        name: '网格二',
        facilities: 3, // SL5 is disabled
        faulty: 1, // EL1; SL4's fix is reported, WL1's case is an event
        online: 2, // SL4, WL1
        integrityRate: 0.6667,
        onlineRate: 0.6667,
        lampsDue: 1,
        lampsLit: 1,
        lightingRate: 1,
        byType: {
          elevator: { facilities: 1, faulty: 1, online: 0, integrityRate: 0, onlineRate: 0 },
          streetlight: {
            facilities: 1,
            faulty: 0,
            online: 1,
            integrityRate: 1,
            onlineRate: 1,
            lampsDue: 1,
            lampsLit: 1,
            lightingRate: 1,
          },
          waterlogging: { facilities: 1, faulty: 0, online: 1, integrityRate: 1, onlineRate: 1 },
        },
      },
    ]);
  });

  it('sums the same facilities per district and city, filters by type, and has no lighting rate by day', async () => {
    const totals = {
      facilities: 7,
      faulty: 2,
      online: 5,
      integrityRate: 0.7143, // 5 ÷ 7
      onlineRate: 0.7143,
      lampsDue: 4,
      lampsLit: 2,
      lightingRate: 0.5,
    };
    const district = await get(`facilities?level=district&district=439901&asOf=${asOf}`);
    expect(district.rows).toEqual([
      expect.objectContaining({ area: '439901', name: '测试区', ...totals }),
    ]);
    const city = await get(`facilities?level=city&area=439901&asOf=${asOf}`);
    expect(city.rows).toEqual([
      expect.objectContaining({ area: '430300', name: '湘潭市', ...totals }),
    ]);
    const lamps = await get(
      `facilities?level=street&street=439901001&type=streetlight&asOf=${asOf}`,
    );
    expect(lamps.rows).toEqual([
      expect.objectContaining({ area: '439901001', facilities: 4, lightingRate: 0.5 }),
    ]);
    expect(Object.keys(lamps.rows[0]!.byType as object)).toEqual(['streetlight']);
    // Noon local time: lamps are not due on.
    const noon = await get(`facilities?level=district&area=439901&asOf=2026-11-20T04:00:00Z`);
    expect(noon.lightingTime).toBe(false);
    expect(noon.rows[0]).toMatchObject({ lampsDue: 4, lightingRate: null });
  });

  it('gives the lighting rate over nights and months from the 5-minute rollups', async () => {
    const period = 'from=2026-11-19T10:00:00Z&to=2026-11-20T22:00:00Z';
    const nights = await get(`lighting?level=grid&area=439901&by=night&${period}`);
    expect(nights.rows).toEqual([
      // G1: 3 lamps × 144 buckets = 432 due a night.
      { area: G1, name: '网格一', period: '2026-11-19', due: 432, lit: 216, lightingRate: 0.5 },
      { area: G1, name: '网格一', period: '2026-11-20', due: 432, lit: 72, lightingRate: 0.1667 },
      // G2: SL4 alone, 144 due a night.
      { area: G2, name: '网格二', period: '2026-11-19', due: 144, lit: 0, lightingRate: 0 },
      { area: G2, name: '网格二', period: '2026-11-20', due: 144, lit: 108, lightingRate: 0.75 },
    ]);
    const month = await get(`lighting?level=district&district=439901&by=month&${period}`);
    // 4 lamps × 288 buckets; lit 216 + 72 + 0 + 108.
    expect(month.rows).toEqual([
      {
        area: '439901',
        name: '测试区',
        period: '2026-11',
        due: 1152,
        lit: 396,
        lightingRate: 0.3438,
      },
    ]);
    const doc = (await (await fetch(`${t.httpUrl}/docs/json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/kpis/facilities', '/api/kpis/lighting', '/api/calendar']),
    );
    const bad = await authed(t.adminToken)(
      `${t.httpUrl}/api/kpis/lighting?from=2026-11-20T00:00:00Z&to=2026-11-19T00:00:00Z`,
    );
    expect(bad.status).toBe(400);
  });
});
