import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, type TestDatabase } from '../../test/support/databases.js';
import {
  createPool,
  detectCapabilities,
  insertAreas,
  insertDevices,
  insertReadings,
  migrate,
  queryReadings,
  type Pool,
} from './index.js';

const logger = pino({ level: 'silent' });

describe.each(backends())('the database on $name', (backend) => {
  let database: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    database = await backend.create();
    pool = createPool(database.url, backend.name === 'timescaledb' ? 1 : 4, logger);
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  it('applies the migrations once and finds nothing to do the second time', async () => {
    const first = await migrate(pool, logger);
    expect(first.length).toBeGreaterThan(0);
    expect(await migrate(pool, logger)).toEqual([]);
  });

  it('makes telemetry a hypertable exactly when TimescaleDB is there', async () => {
    const caps = await detectCapabilities(pool);
    if (backend.name === 'timescaledb') {
      expect(caps.kind).toBe('timescaledb');
      expect(caps.timescaledb).toMatch(/^2\./);
      expect(caps.telemetryHypertable).toBe(true);
    } else {
      expect(caps.kind).toBe('postgresql');
      expect(caps.telemetryHypertable).toBe(false);
    }
  });

  it('stores a batch of readings once even when the batch is sent twice', async () => {
    await insertAreas(pool, [{ code: '430300', level: 'city', name: '湘潭市', parentCode: null }]);
    await insertDevices(pool, [
      { id: 'DN-T1', type: 'dust_noise', name: 'test', gridCode: '430300', secretHash: 'x' },
    ]);
    const t0 = Date.UTC(2026, 10, 23, 2, 0, 0);
    const batch = {
      deviceIds: ['DN-T1', 'DN-T1', 'DN-T1'],
      timesMs: [t0, t0 + 60_000, t0 + 120_000],
      data: ['{"pm10":80}', '{"pm10":95.5}', '{"pm10":120}'],
    };
    expect((await insertReadings(pool, batch)).inserted).toBe(3);
    expect(await insertReadings(pool, batch)).toEqual({
      inserted: 0,
      insertedMask: [false, false, false],
    });
    const rows = await queryReadings(pool, {
      deviceId: 'DN-T1',
      fromMs: t0,
      toMs: t0 + 120_000,
      limit: 10,
    });
    expect(rows.map((r) => r.data.pm10)).toEqual([120, 95.5, 80]);
    expect(rows[2]!.time).toBe(new Date(t0).toISOString());
  });
});
