import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import pg from 'pg';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/index.js';
import type { DemoCredential } from '../../src/db/index.js';
import { createPrimaryDatabase, type TestDatabase } from '../support/databases.js';
import { connectDevice, quietReading, startTestHub, waitFor } from '../support/hub.js';
import { freePort } from '../support/ports.js';

const root = path.resolve(import.meta.dirname, '../..');
/** These tests publish ~100 readings a second per device, far above a real device's rate limit. */
const loadLimits = { MQTT_RATE_PER_S: '100000', MQTT_RATE_BURST: '1000000' };

/** Publishes QoS 1 readings with unique ts per device until stopped; records what was acknowledged. */
function publishLoop(clients: { client: MqttClient; device: DemoCredential }[], baseMs: number) {
  const acked = new Map<string, Set<number>>();
  const refused: string[] = [];
  let running = true;
  let seq = 0;
  const inFlight = new Set<Promise<unknown>>();
  const loop = (async () => {
    while (running) {
      seq++;
      for (const { client, device } of clients) {
        if (!client.connected) continue;
        const ts = baseMs + seq;
        const p = client
          .publishAsync(
            `devices/${device.id}/telemetry`,
            JSON.stringify({ ts, ...quietReading(device.type as never, seq) }),
            {
              qos: 1,
            },
          )
          .then(
            () => {
              if (!acked.has(device.id)) acked.set(device.id, new Set());
              acked.get(device.id)!.add(ts);
            },
            (err: Error) => refused.push(err.message),
          );
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
      // Roughly 100 publishes a second per device, bounded by the acks we wait for.
      await new Promise((r) => setTimeout(r, 10));
      while (inFlight.size > 500) await Promise.race(inFlight);
    }
  })();
  return {
    acked,
    refused,
    async stop() {
      running = false;
      await loop;
      await Promise.race([
        Promise.allSettled([...inFlight]),
        new Promise((r) => setTimeout(r, 5000)),
      ]);
    },
  };
}

async function storedTimes(
  url: string,
  deviceId: string,
): Promise<{ times: Set<number>; rows: number }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ ms: string }>(
      `SELECT (extract(epoch FROM time) * 1000)::bigint AS ms FROM telemetry WHERE device_id = $1`,
      [deviceId],
    );
    return { times: new Set(r.rows.map((x) => Number(x.ms))), rows: r.rowCount ?? 0 };
  } finally {
    await c.end();
  }
}

describe('no acknowledged reading is lost', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  it('keeps every acknowledged reading exactly once through a 30 s database outage', async () => {
    const pgDir = await mkdtemp(path.join(os.tmpdir(), 'hub-outage-pg-'));
    const pgPort = await freePort();
    const logger = pino({ level: 'silent' });
    let server: EmbeddedDatabase = await startEmbeddedPostgres({
      dataDir: pgDir,
      port: pgPort,
      logger,
    });
    cleanups.push(async () => {
      await server.stop();
      await rm(pgDir, { recursive: true, force: true });
    });
    const database: TestDatabase = { url: server.url, drop: async () => {} };
    const t = await startTestHub({ INGEST_FLUSH_INTERVAL_MS: '20', ...loadLimits }, database);
    cleanups.push(() => t.stop());

    const clients = await Promise.all(
      Object.values(t.devices).map(async (device) => ({
        device,
        client: await connectDevice(t.mqttUrl, device),
      })),
    );
    cleanups.push(async () => clients.forEach(({ client }) => client.end(true)));
    const load = publishLoop(clients, Date.now() - 3_600_000);

    await new Promise((r) => setTimeout(r, 2000));
    await server.stop();
    await waitFor(() => (t.hub.ingest.writer.mode() === 'spool' ? true : undefined), 'spool mode');
    // Health says so while storage spools (issue 11), and that it stalls once replay keeps failing.
    const health = async () =>
      (await (await fetch(`${t.httpUrl}/api/health`)).json()) as {
        status: string;
        storage: { problems: { code: string }[] };
      };
    const spooling = await health();
    expect(spooling.status).toBe('degraded');
    expect(spooling.storage.problems.map((p) => p.code)).toEqual([
      expect.stringMatching(/^storage_(spooling|stalled)$/),
    ]);
    await new Promise((r) => setTimeout(r, 30_000));
    await waitFor(
      async () =>
        (await health()).storage.problems.map((p) => p.code).join() === 'storage_stalled'
          ? true
          : undefined,
      'health saying storage stalled',
    );
    server = await startEmbeddedPostgres({ dataDir: pgDir, port: pgPort, logger });
    await new Promise((r) => setTimeout(r, 2000));
    await load.stop();
    await t.hub.ingest.drain();
    await waitFor(
      () => (t.hub.ingest.writer.mode() === 'direct' ? true : undefined),
      'the spool replayed',
      60_000,
    );

    expect(load.refused).toEqual([]);
    expect(t.hub.ingest.writer.counters.spooledBatches).toBeGreaterThan(0);
    let total = 0;
    for (const { device } of clients) {
      const acked = load.acked.get(device.id) ?? new Set();
      const { times, rows } = await storedTimes(server.url, device.id);
      const missing = [...acked].filter((ts) => !times.has(ts));
      expect(missing, `${device.id}: acknowledged but not stored`).toEqual([]);
      expect(rows).toBe(times.size);
      total += acked.size;
    }
    expect(total).toBeGreaterThan(1000);
    expect(await readdir(path.join(t.hub.config.dataDir, 'spool'))).toEqual([]);
    expect((await health()).status).toBe('ok');
  }, 150_000);

  it('loses nothing acknowledged when the hub is killed with SIGKILL mid-stream and restarted', async () => {
    const database = await createPrimaryDatabase();
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hub-kill-'));
    cleanups.push(async () => {
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    });
    const env = {
      ...process.env,
      DATABASE_URL: database.url,
      DATA_DIR: dataDir,
      MQTT_PORT: String(await freePort()),
      HTTP_PORT: String(await freePort()),
      DEMO_DEVICE_COUNT: '7',
      LOG_LEVEL: 'warn',
      ...loadLimits,
    };
    const start = () => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/hub/main.ts'], {
        cwd: root,
        env,
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      cleanups.push(async () => child.kill('SIGKILL'));
      return { child, output: () => out };
    };
    const first = start();
    await waitFor(
      () => (first.output().includes('is running') ? true : undefined),
      'the hub',
      60_000,
    );
    const { readFile } = await import('node:fs/promises');
    const devices = (await readFile(path.join(dataDir, 'demo-devices.csv'), 'utf8'))
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(','))
      .map((f) => ({ id: f[0]!, type: f[1]!, gridCode: f[2]!, secret: f[6]! }));
    const clients = await Promise.all(
      devices.map(async (device) => ({
        device,
        client: await connectDevice(`mqtt://127.0.0.1:${env.MQTT_PORT}`, device),
      })),
    );
    cleanups.push(async () => clients.forEach(({ client }) => client.end(true)));
    const load = publishLoop(clients, Date.now() - 7_200_000);
    await new Promise((r) => setTimeout(r, 3000));
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    await load.stop();

    const second = start();
    await waitFor(
      () => (second.output().includes('is running') ? true : undefined),
      'the restart',
      60_000,
    );
    let total = 0;
    for (const { device } of clients) {
      const acked = load.acked.get(device.id) ?? new Set();
      const { times, rows } = await storedTimes(database.url, device.id);
      expect(
        [...acked].filter((ts) => !times.has(ts)),
        device.id,
      ).toEqual([]);
      expect(rows).toBe(times.size);
      total += acked.size;
    }
    expect(total).toBeGreaterThan(100);
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));

    // Rollup contributions held in memory at the kill were rebuilt from the readings.
    const c = new pg.Client({ connectionString: database.url });
    await c.connect();
    const { rows } = await c.query(
      `SELECT t.device_id, t.n::int AS readings, coalesce(r.n, 0)::int AS rolled
       FROM (SELECT device_id, count(*) AS n FROM telemetry GROUP BY 1) t
       LEFT JOIN (SELECT device_id, sum(n) AS n FROM telemetry_5m GROUP BY 1) r USING (device_id)`,
    );
    await c.end();
    expect(rows.length).toBe(devices.length);
    for (const r of rows) expect(r.rolled, r.device_id).toBe(r.readings);
    // Two hub starts (each up to a minute under tsx and coverage on a loaded machine) and a replay.
  }, 240_000);

  it('stores one row when a device retransmits the same reading with the DUP flag', async () => {
    const t = await startTestHub();
    cleanups.push(() => t.stop());
    const gas = t.devices.gas;
    const client = await connectDevice(t.mqttUrl, gas);
    const payload = JSON.stringify({ ts: Date.now() - 1000, pressure: 3.1 });
    await client.publishAsync(`devices/${gas.id}/telemetry`, payload, { qos: 1 });
    await client.publishAsync(`devices/${gas.id}/telemetry`, payload, { qos: 1, dup: true });
    client.end(true);
    await t.hub.ingest.drain();
    const r = await t.hub.db.pool.query(
      `SELECT count(*)::int AS n FROM telemetry WHERE device_id = $1`,
      [gas.id],
    );
    expect(r.rows[0].n).toBe(1);
    expect(t.hub.ingest.writer.counters.duplicates).toBe(1);
  });

  it('stops reading a device socket while its readings wait for the database, instead of buffering them', async () => {
    const t = await startTestHub({ INGEST_FLUSH_INTERVAL_MS: '10', ...loadLimits });
    cleanups.push(() => t.stop());
    const w = t.devices.waterlogging;
    // Another session holds the table: commits wait, as when the database falls behind.
    const blocker = new pg.Client({ connectionString: t.database.url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE telemetry IN ACCESS EXCLUSIVE MODE');

    const client = await connectDevice(t.mqttUrl, w);
    const base = Date.now() - 86_400_000;
    const sent = 5000;
    let acked = 0;
    for (let i = 0; i < sent; i++) {
      client.publish(
        `devices/${w.id}/telemetry`,
        JSON.stringify({ ts: base + i, depth: 1 }),
        { qos: 1 },
        () => acked++,
      );
    }
    await new Promise((r) => setTimeout(r, 1500));
    const held = t.hub.ingest.counters.readings;
    expect(acked).toBe(0);
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThan(sent / 2);

    await blocker.query('ROLLBACK');
    await blocker.end();
    await waitFor(() => (acked === sent ? true : undefined), 'every publish acknowledged', 30_000);
    client.end(true);
    const r = await t.hub.db.pool.query(
      `SELECT count(*)::int AS n FROM telemetry WHERE device_id = $1`,
      [w.id],
    );
    expect(r.rows[0].n).toBe(sent);
  });
});
