import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, type TestDatabase } from '../../test/support/databases.js';
import type { ReadingColumns } from '../db/index.js';
import {
  applyStoragePolicies,
  createPool,
  detectCapabilities,
  insertAreas,
  insertDevices,
  insertReadings,
  rebuildRollups,
  maintainStorage,
  refreshAreaRollups,
  migrate,
  queryBuckets,
  queryLatest,
  queryReadings,
  type DatabaseCapabilities,
  type Pool,
} from '../db/index.js';
import { createBatchWriter, createRollupAccumulator, createSpool } from './index.js';
import type { RefusedRow } from './batch-writer.js';
import { createQuarantine } from './quarantine.js';

const logger = pino({ level: 'silent' });
const day = 86_400_000;

describe.each(backends())('telemetry storage through the ingest writer on $name', (backend) => {
  let database: TestDatabase;
  let pool: Pool;
  let caps: DatabaseCapabilities;
  /** What the ingest writer does per batch: insert, then count the new rows into the rollups. */
  const write = async (batch: ReadingColumns) => {
    const r = await insertReadings(pool, batch);
    const rollups = createRollupAccumulator(pool, 60_000, logger);
    rollups.add(batch, r.insertedMask);
    await rollups.stop();
    return r.inserted;
  };
  const now = Date.now();
  // The start of the previous hour: the readings t0 … t0 + 10 min share one hourly bucket
  // whatever the minute the tests run at (at :55–:59 a 5-minute boundary split them).
  const t0 = Math.floor(now / 3_600_000) * 3_600_000 - 3_600_000;

  beforeAll(async () => {
    database = await backend.create();
    pool = createPool(database.url, backend.name === 'timescaledb' ? 1 : 4, logger);
    await migrate(pool, logger);
    caps = await detectCapabilities(pool);
    await applyStoragePolicies(pool, caps, { compressAfterDays: 7, retentionDays: 30 }, logger);
    await insertAreas(pool, [
      { code: '430300', level: 'city', name: '湘潭市', parentCode: null },
      { code: '430302', level: 'district', name: '雨湖区', parentCode: '430300' },
      { code: '430304', level: 'district', name: '岳塘区', parentCode: '430300' },
    ]);
    await insertDevices(pool, [
      { id: 'WL-A', type: 'waterlogging', name: 'a', gridCode: '430302', secretHash: 'x' },
      { id: 'WL-B', type: 'waterlogging', name: 'b', gridCode: '430302', secretHash: 'x' },
      { id: 'SL-A', type: 'streetlight', name: 'c', gridCode: '430304', secretHash: 'x' },
    ]);
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  it('rolls readings up into 5-minute buckets once, even when the batch is written twice', async () => {
    const batch = {
      deviceIds: ['WL-A', 'WL-A', 'WL-A', 'WL-B', 'SL-A', 'SL-A'],
      timesMs: [t0, t0 + 60_000, t0 + 300_000, t0, t0, t0 + 60_000],
      data: [
        '{"depth":10}',
        '{"depth":20,"rain_mm_h":5}',
        '{"depth":30}',
        '{"depth":2}',
        '{"on":true,"dim":100}',
        '{"on":false,"dim":0}',
      ],
    };
    expect(await write(batch)).toBe(6);
    expect(await write(batch)).toBe(0);

    const a = await queryBuckets(pool, {
      deviceId: 'WL-A',
      metric: 'depth',
      fromMs: t0,
      toMs: t0 + 600_000,
      bucketS: 300,
      limit: 100,
    });
    expect(a.map((r) => [r.n, r.avg, r.min, r.max])).toEqual([
      [2, 15, 10, 20],
      [1, 30, 30, 30],
    ]);
    const lamp = await queryBuckets(pool, {
      deviceId: 'SL-A',
      metric: 'on',
      fromMs: t0,
      toMs: t0 + 600_000,
      bucketS: 300,
      limit: 10,
    });
    expect(lamp[0]!.avg).toBe(0.5);
  });

  it('aggregates a district over its devices into larger buckets', async () => {
    const district = await queryBuckets(pool, {
      gridPrefix: '430302',
      metric: 'depth',
      fromMs: t0,
      toMs: t0 + 3_600_000,
      bucketS: 3600,
      limit: 100,
    });
    expect(district).toHaveLength(1);
    expect(district[0]).toMatchObject({ deviceId: null, n: 4, min: 2, max: 30 });
    expect(district[0]!.avg).toBeCloseTo(62 / 4);
    const byType = await queryBuckets(pool, {
      type: 'streetlight',
      fromMs: t0,
      toMs: t0 + 3_600_000,
      bucketS: 3600,
      limit: 100,
    });
    expect(byType.map((r) => r.metric).sort()).toEqual(['dim', 'on']);
  });

  it('keeps the latest value of every metric of a device, whatever order readings arrive in', async () => {
    await write({
      deviceIds: ['WL-A'],
      timesMs: [t0 - 600_000],
      data: ['{"depth":99}'],
    });
    const [latest] = await queryLatest(pool, { deviceIds: ['WL-A'], limit: 10 });
    expect(latest!.data).toEqual({ depth: 30, rain_mm_h: 5 });
    expect(latest!.time).toBe(new Date(t0 + 300_000).toISOString());
    expect(await queryLatest(pool, { gridPrefix: '430304', limit: 10 })).toHaveLength(1);
  });

  it('stores a backlog reading from weeks ago and a reading from now, and reads both back', async () => {
    const old = now - 20 * day;
    await write({
      deviceIds: ['WL-B', 'WL-B'],
      timesMs: [old, now],
      data: ['{"depth":1}', '{"depth":3}'],
    });
    const rows = await queryReadings(pool, { deviceId: 'WL-B', fromMs: old, toMs: now, limit: 10 });
    expect(rows.map((r) => r.data.depth)).toEqual([3, 2, 1]);
  });

  it('writes at most maxRows readings at a time, never splitting a publish, and acks each once', async () => {
    await insertDevices(pool, [
      { id: 'WL-W', type: 'waterlogging', name: 'w', gridCode: '430302', secretHash: 'x' },
    ]);
    const spoolDir = await mkdtemp(path.join(os.tmpdir(), 'writer-cap-'));
    const written: string[][] = [];
    const writer = createBatchWriter(
      pool,
      createSpool(spoolDir),
      createQuarantine(path.join(spoolDir, 'quarantine')),
      {
        maxRows: 4,
        flushIntervalMs: 1,
        concurrency: 1,
        onCommitted: (batch) => written.push(batch.timesMs.map((t) => String(t - t0))),
        onRefused: () => Promise.reject(new Error('no row is refused here')),
      },
      logger,
    );
    // Publishes of 1, 3, 2, 5 (more than maxRows: alone), 1 and 2 readings, added before any write starts.
    const sizes = [1, 3, 2, 5, 1, 2];
    const acks: Promise<void>[] = [];
    let t = t0 - 2 * day;
    for (const [p, n] of sizes.entries()) {
      for (let i = 0; i < n; i++) writer.add('WL-W', t++, `{"depth":${p}}`, { depth: p });
      acks.push(
        new Promise((resolve, reject) => writer.ackWhenDurable((e) => (e ? reject(e) : resolve()))),
      );
    }
    await Promise.all(acks);
    await writer.stop();
    await rm(spoolDir, { recursive: true, force: true });
    expect(written.map((b) => b.length)).toEqual([4, 2, 5, 3]);
    const rows = await queryReadings(pool, {
      deviceId: 'WL-W',
      fromMs: t0 - 2 * day,
      toMs: t,
      limit: 100,
    });
    expect(rows).toHaveLength(14);
  });

  it('splits a batch the database refuses until the bad rows stand alone, stores the rest and acks every publish', async () => {
    const spoolDir = await mkdtemp(path.join(os.tmpdir(), 'writer-poison-'));
    const refused: RefusedRow[] = [];
    const writer = createBatchWriter(
      pool,
      createSpool(spoolDir),
      createQuarantine(path.join(spoolDir, 'quarantine')),
      {
        maxRows: 1000,
        flushIntervalMs: 1,
        concurrency: 1,
        onRefused: async (row) => void refused.push(row),
      },
      logger,
    );
    // Rows past validation that PostgreSQL refuses (class 22): a NUL escape, a lone
    // surrogate, a time beyond timestamptz. 40 publishes of one reading each.
    const poison = new Map([
      [3, String.raw`{"depth":"\u0000"}`],
      [17, String.raw`{"depth":"\ud800"}`],
      [18, String.raw`{"depth":"\udfff"}`],
    ]);
    const acks: Promise<void>[] = [];
    const base = t0 - 3 * day;
    for (let i = 0; i < 40; i++) {
      const bad = i === 29 ? 1e18 : null;
      writer.add('WL-P', bad ?? base + i, poison.get(i) ?? `{"depth":${i}}`, { depth: i });
      acks.push(
        new Promise((resolve, reject) => writer.ackWhenDurable((e) => (e ? reject(e) : resolve()))),
      );
    }
    await Promise.all(acks);
    await writer.stop();
    await rm(spoolDir, { recursive: true, force: true });
    expect(writer.mode()).toBe('direct');
    expect(refused.map((r) => r.data)).toEqual([...poison.values(), '{"depth":29}']);
    expect(refused.map((r) => (r.error as { code: string }).code.slice(0, 2))).toEqual([
      '22',
      '22',
      '22',
      '22',
    ]);
    expect(writer.counters.refusedRows).toBe(4);
    expect(writer.counters.spooledBatches).toBe(0);
    const rows = await queryReadings(pool, {
      deviceId: 'WL-P',
      fromMs: base,
      toMs: base + 40,
      limit: 100,
    });
    expect(rows).toHaveLength(36);
  });

  it('rebuilds the rollups of a range from the readings after contributions were lost', async () => {
    const before = await queryBuckets(pool, {
      deviceId: 'WL-A',
      metric: 'depth',
      fromMs: t0,
      toMs: t0 + 600_000,
      bucketS: 300,
      limit: 10,
    });
    await pool.query(`DELETE FROM telemetry_5m WHERE device_id = 'WL-A'`);
    await rebuildRollups(pool, t0, t0 + 600_000);
    const after = await queryBuckets(pool, {
      deviceId: 'WL-A',
      metric: 'depth',
      fromMs: t0,
      toMs: t0 + 600_000,
      bucketS: 300,
      limit: 10,
    });
    expect(after).toEqual(before);
  });

  it('serves district and type series from the hourly area rollup as the join computes them', async () => {
    const hour = 3_600_000;
    const h0 = Math.floor(now / hour) * hour - 5 * hour;
    await insertAreas(pool, [
      { code: '430381', level: 'district', name: '湘乡市', parentCode: '430300' },
    ]);
    await insertDevices(pool, [
      { id: 'PS-A', type: 'pump_station', name: 'a', gridCode: '430381', secretHash: 'x' },
      { id: 'PS-B', type: 'pump_station', name: 'b', gridCode: '430381', secretHash: 'x' },
    ]);
    const readings: [string, number, number][] = [
      ['PS-B', h0 - 10 * 60_000, 4],
      ['PS-A', h0, 1],
      ['PS-A', h0 + 10 * 60_000, 3],
      ['PS-B', h0 + 20 * 60_000, 2],
      ['PS-A', h0 + hour + 5 * 60_000, 5],
      ['PS-B', h0 + hour + 50 * 60_000, 6],
      ['PS-A', now - 60_000, 10], // this hour: not rolled up yet
    ];
    await write({
      deviceIds: readings.map((r) => r[0]),
      timesMs: readings.map((r) => r[1]),
      data: readings.map((r) => JSON.stringify({ well_level: r[2] })),
    });
    const series = async (grid: string) =>
      (
        await queryBuckets(pool, {
          gridPrefix: grid,
          type: 'pump_station',
          metric: 'well_level',
          fromMs: h0 - 30 * 60_000, // starts mid-hour: that edge always comes from the join
          toMs: now,
          bucketS: 3600,
          limit: 100,
        })
      ).map((r) => [new Date(r.bucket).getTime(), r.n, r.avg, r.min, r.max]);
    const thisHour = Math.floor((now - 60_000) / hour) * hour;
    const byHand = [
      [h0 - hour, 1, 4, 4, 4],
      [h0, 3, 2, 1, 3],
      [h0 + hour, 2, 5.5, 5, 6],
      [thisHour, 1, 10, 10, 10],
    ];
    expect(await series('430381')).toEqual(byHand); // from the join alone

    const through = await refreshAreaRollups(pool, now);
    expect(through).toBe(Math.floor((now - 10 * 60_000) / hour) * hour);
    const rolled = await pool.query(
      `SELECT count(*)::int AS n FROM telemetry_area_1h WHERE grid_code = '430381'`,
    );
    expect(rolled.rows[0].n).toBe(3);
    expect(await series('430381')).toEqual(byHand); // the rolled-up hours from telemetry_area_1h
    expect(await series('4303')).toEqual(byHand);

    // PS-B moves to another district: the re-rolled hours follow it, and its old groups go.
    await pool.query(`UPDATE devices SET grid_code = '430304' WHERE id = 'PS-B'`);
    await refreshAreaRollups(pool, now);
    expect(await series('430381')).toEqual([
      [h0, 2, 2, 1, 3],
      [h0 + hour, 1, 5, 5, 5],
      [thisHour, 1, 10, 10, 10],
    ]);
    expect(await series('430304')).toEqual([
      [h0 - hour, 1, 4, 4, 4],
      [h0, 1, 2, 2, 2],
      [h0 + hour, 1, 6, 6, 6],
    ]);

    // A late reading for an hour already rolled up: read from the join at once, then rolled up.
    await write({ deviceIds: ['PS-A'], timesMs: [h0 + 30 * 60_000], data: ['{"well_level":7}'] });
    const late = [
      [h0, 3, 11 / 3, 1, 7],
      [h0 + hour, 1, 5, 5, 5],
      [thisHour, 1, 10, 10, 10],
    ];
    expect(await series('430381')).toEqual(late);
    expect(await refreshAreaRollups(pool, now)).toBe(through);
    expect(await series('430381')).toEqual(late);
  });

  it('applies the retention and compression this kind of server supports', async () => {
    if (caps.kind === 'postgresql') {
      const parts = await pool.query(
        `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'telemetry'::regclass ORDER BY 1`,
      );
      const names = parts.rows.map((r) => r.relname as string);
      expect(names).toContain('telemetry_default');
      expect(names.filter((n) => n.startsWith('telemetry_p')).length).toBeGreaterThanOrEqual(9);
      // Forty days later the oldest partitions fall out of a 30-day retention.
      const later = await maintainStorage(
        pool,
        caps,
        { compressAfterDays: 7, retentionDays: 30 },
        now + 40 * day,
        logger,
      );
      expect(later.dropped.length).toBeGreaterThan(0);
      expect(later.created.length).toBeGreaterThan(0);
    } else {
      const jobs = await pool.query(
        `SELECT proc_name, hypertable_name FROM timescaledb_information.jobs
         WHERE hypertable_name IN ('telemetry', 'telemetry_5m', 'telemetry_1h') OR proc_name LIKE 'policy_refresh%'
         ORDER BY 1, 2`,
      );
      const kinds = jobs.rows.map((r) => `${r.proc_name}:${r.hypertable_name}`);
      expect(kinds).toEqual(
        expect.arrayContaining([
          'policy_compression:telemetry',
          'policy_compression:telemetry_5m',
          'policy_retention:telemetry',
        ]),
      );
      expect(kinds.some((k) => k.startsWith('policy_refresh_continuous_aggregate'))).toBe(true);
      // Compress the chunks now and read through them: segmented by device.
      await pool.query(
        `SELECT compress_chunk(c, if_not_compressed => true) FROM show_chunks('telemetry') c`,
      );
      const rows = await queryReadings(pool, {
        deviceId: 'WL-A',
        fromMs: t0 - day,
        toMs: now,
        limit: 10,
      });
      expect(rows.map((r) => r.data.depth)).toEqual([30, 20, 10, 99]);
      // The Apache build's path: retention by drop_chunks run from the hub.
      await maintainStorage(
        pool,
        { ...caps, kind: 'timescaledb-apache' },
        { compressAfterDays: 7, retentionDays: 10 },
        now,
        logger,
      );
      const kept = await queryReadings(pool, {
        deviceId: 'WL-B',
        fromMs: now - 30 * day,
        toMs: now,
        limit: 10,
      });
      expect(kept.map((r) => r.data.depth)).toEqual([3, 2]);
    }
  });
});
