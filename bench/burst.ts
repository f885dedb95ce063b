/**
 * Bursts after an outage (#17): `--devices` devices, back online together,
 * each empty `--readings` buffered readings at once (QoS 1, one socket write
 * of all its PUBLISH packets, readings one minute apart in the past). The hub
 * runs with its own rate limit (MQTT_RATE_PER_S 10, MQTT_RATE_BURST 100 unless
 * given here or in the environment): devices over it are slowed, not
 * acknowledged and dropped (decision 0142). The figure that matters is
 * `lost`: acknowledged readings missing from the telemetry table (must be 0);
 * besides, how long the fleet takes to empty its buffers and the rows a
 * second that makes.
 *
 *   npx tsx bench/burst.ts --devices 1000 --readings 2000 [--workers 2] [--rate 10 --burst 100]
 *
 * Database: as bench/ingest.ts (BENCH_DATABASE_URL, else a fresh database on
 * 127.0.0.1:5432, else the embedded PostgreSQL). Load generators are child
 * processes writing raw MQTT. Last line: JSON.
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mqttPacket, { type Packet } from 'mqtt-packet';
import pg from 'pg';
import type { FacilityType } from '../src/domain/index.js';
import { normalReading } from '../src/simulators/index.js';
import { benchDatabase } from './database.js';
import { startHubProcess } from './hub-process.js';
import { connectPacket } from './mqtt-raw.js';

const self = fileURLToPath(import.meta.url);
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const minute = 60_000;

interface DeviceCred {
  id: string;
  type: FacilityType;
  secret: string;
}
interface Job {
  url: string;
  devices: DeviceCred[];
  readings: number;
  baseMs: number;
}
/** Generator → parent. */
type Report =
  | { kind: 'connected'; connected: number; failed: number }
  | { kind: 'progress'; acked: number }
  | {
      kind: 'done';
      acked: number;
      /** Per device: message ids (1-based reading numbers) never acknowledged. */
      unacked: Record<string, number[]>;
      closed: number;
      lastAckMs: number;
    };

// ---------------------------------------------------------------- generator

async function generator(job: Job): Promise<void> {
  const url = new URL(job.url);
  const send = (r: Report) => process.send!(r);
  interface Conn {
    cred: DeviceCred;
    socket: net.Socket;
    acked: Uint8Array;
    closed: boolean;
  }
  let acked = 0;
  let lastAckMs = 0;
  const open = (cred: DeviceCred) =>
    new Promise<Conn | undefined>((resolve) => {
      const socket = net.connect({ host: url.hostname, port: Number(url.port) });
      const conn: Conn = { cred, socket, acked: new Uint8Array(job.readings + 1), closed: false };
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      parser.on('packet', (p: Packet) => {
        if (p.cmd === 'puback') {
          const id = p.messageId!;
          if (id <= job.readings && !conn.acked[id]) {
            conn.acked[id] = 1;
            acked++;
            lastAckMs = Date.now();
          }
        } else if (p.cmd === 'connack') resolve(p.returnCode === 0 ? conn : undefined);
      });
      socket.on('data', (b: Buffer) => parser.parse(b));
      socket.on('error', () => resolve(undefined));
      socket.on('close', () => {
        conn.closed = true;
        resolve(undefined);
      });
      socket.write(connectPacket(cred.id, cred.id, cred.secret));
    });
  const conns: Conn[] = [];
  let failed = 0;
  for (let i = 0; i < job.devices.length; i += 50) {
    for (const c of await Promise.all(job.devices.slice(i, i + 50).map(open))) {
      if (c) conns.push(c);
      else failed++;
    }
  }
  send({ kind: 'connected', connected: conns.length, failed });
  await new Promise((resolve) => process.once('message', resolve));
  // The whole buffer in one write per device: what a sensor back from an outage does.
  for (const c of conns) {
    const topic = `devices/${c.cred.id}/telemetry`;
    const packets: Buffer[] = [];
    for (let k = 1; k <= job.readings; k++) {
      const ts = job.baseMs + k * minute;
      packets.push(
        mqttPacket.generate({
          cmd: 'publish',
          topic,
          payload: JSON.stringify({ ts, ...normalReading(c.cred.type, 12) }),
          qos: 1,
          messageId: k,
          retain: false,
          dup: false,
        }),
      );
    }
    c.socket.write(Buffer.concat(packets));
  }
  const total = conns.length * job.readings;
  const progress = setInterval(() => send({ kind: 'progress', acked }), 5000);
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (acked >= total || conns.every((c) => c.closed)) {
        clearInterval(check);
        resolve();
      }
    }, 200);
    process.once('message', () => {
      clearInterval(check);
      resolve();
    });
  });
  clearInterval(progress);
  const unacked: Record<string, number[]> = {};
  for (const c of conns) {
    const missing: number[] = [];
    for (let k = 1; k <= job.readings; k++) if (!c.acked[k]) missing.push(k);
    if (missing.length) unacked[c.cred.id] = missing;
  }
  send({
    kind: 'done',
    acked,
    unacked,
    closed: conns.filter((c) => c.closed).length,
    lastAckMs,
  });
  for (const c of conns) c.socket.destroy();
  setTimeout(() => process.exit(0), 100);
}

// ---------------------------------------------------------------- parent

const loadAverage = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

async function main(): Promise<void> {
  const devicesN = arg('devices', 1000);
  const readings = arg('readings', 2000);
  const workers = Math.max(1, arg('workers', 2));
  const rate = arg('rate', Number(process.env.MQTT_RATE_PER_S ?? 10));
  const burst = arg('burst', Number(process.env.MQTT_RATE_BURST ?? 100));
  if (readings > 65535) throw new Error('--readings: at most 65,535 (one MQTT message id each)');
  // Bounded: the time a device needs at its rate, three times, plus two minutes.
  const timeoutS = arg('timeout-s', Math.ceil((readings / rate) * 3) + 120);

  const db = await benchDatabase('bench_burst');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-burst-'));
  const hub = await startHubProcess({
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    DEMO_DEVICE_COUNT: String(Math.max(7, devicesN)),
    MQTT_RATE_PER_S: String(rate),
    MQTT_RATE_BURST: String(burst),
  });
  const { mqttPort, httpPort } = hub;
  const devices: DeviceCred[] = hub.devices.slice(0, devicesN);
  // Readings a month back, one minute apart: no other reading of these devices is that old.
  const baseMs = Date.now() - 30 * 86_400_000;
  console.log(
    `hub on ${db.label}; ${devices.length} devices × ${readings} buffered readings (QoS 1), ` +
      `rate limit ${rate}/s burst ${burst} a device; ${workers} generator processes; load ${loadAverage()}`,
  );

  const slices = Array.from({ length: workers }, (_, w) =>
    devices.filter((_, i) => i % workers === w),
  );
  const children = slices.map((slice) => {
    const child = fork(
      self,
      [
        '--child',
        JSON.stringify({
          url: `mqtt://127.0.0.1:${mqttPort}`,
          devices: slice,
          readings,
          baseMs,
        } satisfies Job),
      ],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    const reports: Report[] = [];
    const waiters: ((r: Report) => void)[] = [];
    child.on('message', (m) => {
      const r = m as Report;
      reports.push(r);
      for (const w of waiters.splice(0)) w(r);
    });
    const next = (kind: Report['kind']) =>
      new Promise<Report>((resolve) => {
        const have = reports.find((r) => r.kind === kind);
        if (have) return resolve(have);
        const wait = (r: Report) => (r.kind === kind ? resolve(r) : waiters.push(wait));
        waiters.push(wait);
      });
    return { child, reports, next };
  });
  const connected = (await Promise.all(children.map((c) => c.next('connected')))) as Extract<
    Report,
    { kind: 'connected' }
  >[];
  const online = connected.reduce((n, r) => n + r.connected, 0);
  console.log(
    `${online} devices connected (${connected.reduce((n, r) => n + r.failed, 0)} failed); emptying buffers`,
  );
  const startedMs = Date.now();
  for (const c of children) c.child.send('go');
  const ticker = setInterval(() => {
    const acked = children.reduce((n, c) => {
      const last = c.reports.filter((r) => r.kind === 'progress').at(-1) as
        Extract<Report, { kind: 'progress' }> | undefined;
      return n + (last?.acked ?? 0);
    }, 0);
    console.log(
      `  ${Math.round((Date.now() - startedMs) / 1000)} s: ${acked} of ${online * readings} acknowledged; load ${loadAverage()}`,
    );
  }, 15_000);
  const timeout = setTimeout(() => {
    console.log(`timeout after ${timeoutS} s: stopping the generators`);
    for (const c of children) c.child.send('stop');
  }, timeoutS * 1000);
  const done = (await Promise.all(children.map((c) => c.next('done')))) as Extract<
    Report,
    { kind: 'done' }
  >[];
  clearTimeout(timeout);
  clearInterval(ticker);
  const acked = done.reduce((n, r) => n + r.acked, 0);
  const drainS = (Math.max(...done.map((r) => r.lastAckMs)) - startedMs) / 1000;
  const unacked: Record<string, number[]> = Object.assign({}, ...done.map((r) => r.unacked));

  const client = new pg.Client({ connectionString: await hub.databaseUrl() });
  await client.connect();
  const window = [baseMs, baseMs + (readings + 1) * minute];
  const perDevice = await client.query<{ id: string; n: string; d: string }>(
    `SELECT device_id AS id, count(*) AS n, count(DISTINCT time) AS d FROM telemetry
      WHERE time >= to_timestamp($1 / 1000.0) AND time < to_timestamp($2 / 1000.0) GROUP BY device_id`,
    window,
  );
  const storedOf = new Map(perDevice.rows.map((r) => [r.id, Number(r.d)]));
  const stored = perDevice.rows.reduce((n, r) => n + Number(r.n), 0);
  const duplicated = perDevice.rows.reduce((n, r) => n + Number(r.n) - Number(r.d), 0);
  // Acknowledged and not stored, device by device (exact where some were never acknowledged).
  let lost = 0;
  for (const d of devices) {
    const missingAcks = unacked[d.id];
    if (!missingAcks) {
      lost += Math.max(0, readings - (storedOf.get(d.id) ?? 0));
      continue;
    }
    const { rows } = await client.query<{ ms: string }>(
      `SELECT (extract(epoch FROM time) * 1000)::bigint AS ms FROM telemetry
        WHERE device_id = $1 AND time >= to_timestamp($2 / 1000.0) AND time < to_timestamp($3 / 1000.0)`,
      [d.id, ...window],
    );
    const have = new Set(rows.map((r) => Number(r.ms)));
    const notAcked = new Set(missingAcks);
    for (let k = 1; k <= readings; k++) {
      if (!notAcked.has(k) && !have.has(baseMs + k * minute)) lost++;
    }
  }
  await client.end();
  const metrics = await fetch(`http://127.0.0.1:${httpPort}/metrics`)
    .then((r) => r.text())
    .catch(() => '');
  const metric = (re: RegExp) => Number(re.exec(metrics)?.[1] ?? 0);
  const held = metric(/^hub_mqtt_rate_held_total (\d+)/m);
  const cutOffs = metric(/^hub_mqtt_drops_total\{reason="rate_abuse"\} (\d+)/m);
  const rateDrops = metric(/^hub_mqtt_drops_total\{reason="rate_limited"\} (\d+)/m);
  await hub.stop();
  await db.drop();
  await rm(dataDir, { recursive: true, force: true });

  const offered = online * readings;
  const closed = done.reduce((n, r) => n + r.closed, 0);
  console.log(
    `offered ${offered}, acknowledged ${acked}, stored ${stored} (duplicates ${duplicated}), ` +
      `acknowledged but not stored: ${lost}`,
  );
  console.log(
    `buffers emptied in ${drainS.toFixed(1)} s (${Math.round(acked / Math.max(drainS, 0.001))} acknowledged readings/s; ` +
      `a device at ${rate}/s needs ${((readings - burst) / rate).toFixed(0)} s); held publishes ${held}, ` +
      `cut off ${cutOffs}, dropped by the rate limit ${rateDrops}, connections closed ${closed}; load ${loadAverage()}`,
  );
  console.log(
    JSON.stringify({
      devices: online,
      readings_per_device: readings,
      rate_per_s: rate,
      rate_burst: burst,
      offered,
      acked,
      stored,
      duplicated,
      lost,
      drain_s: Number(drainS.toFixed(1)),
      acked_per_s: Math.round(acked / Math.max(drainS, 0.001)),
      held_publishes: held,
      cut_off: cutOffs,
      rate_limited_drops: rateDrops,
      connections_closed: closed,
      database: db.label,
      load_average_end: loadAverage(),
    }),
  );
}

const childIndex = process.argv.indexOf('--child');
if (childIndex >= 0) {
  void generator(JSON.parse(process.argv[childIndex + 1]!) as Job);
} else {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
