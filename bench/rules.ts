/**
 * Rules engine benchmark (#4), two figures:
 *  1. evaluations per second through the evaluator alone with the full rule
 *     pack, 10,000 devices of all seven types, one reading per call, one core;
 *  2. alarm latency from an MQTT publish (a manhole cover lifted) to the
 *     socket.io client receiving the case, p50 and p99, while background
 *     telemetry flows at the target rate from a worker thread.
 * The last line is one JSON object. Needs no database server: with
 * DATABASE_URL unset the hub starts its embedded PostgreSQL in a temp dir.
 * Run: npx tsx bench/rules.ts [evaluations] [background msgs/s] [alarm samples]
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import mqtt from 'mqtt';
import pino from 'pino';
import { io } from 'socket.io-client';
import { generateDemoCity, type CaseRecord, type FacilityType } from '../src/domain/index.js';
import { loadConfig } from '../src/hub/config.js';
import { startHub } from '../src/hub/hub.js';
import { createEvaluator, defaultRulePack } from '../src/rules/index.js';
import { normalReading } from '../src/simulators/index.js';

const evaluations = Number(process.argv[2] ?? 2_000_000);
const targetRate = Number(process.argv[3] ?? 10_000);
const samples = Number(process.argv[4] ?? 200);

// 1. The evaluator alone.
function benchEvaluator(): number {
  const city = generateDemoCity({ deviceCount: 10_000 });
  const evaluator = createEvaluator(defaultRulePack);
  evaluator.setFleet(
    city.devices.map((d) => ({ ...d, road: (d.attrs.road as string | undefined) ?? null })),
    Date.now(),
  );
  const night = new Map<FacilityType, Record<string, unknown>>();
  for (const d of city.devices) night.set(d.type, normalReading(d.type, 22));
  const devices = city.devices;
  const start = Date.UTC(2026, 10, 23, 14, 0);
  const reading = { timeMs: 0, metrics: {} as Record<string, unknown> };
  const batch = [reading];
  const run = (n: number, offset: number) => {
    for (let i = 0; i < n; i++) {
      const d = devices[i % devices.length]!;
      reading.timeMs = start + (offset + i) * 10; // readings move forward, like a live feed
      reading.metrics = night.get(d.type)!;
      evaluator.evaluate(d.id, d.type, batch);
    }
  };
  run(200_000, 0); // warm up the JIT and create every device's state
  const t0 = performance.now();
  run(evaluations, 200_000);
  const perS = Math.round(evaluations / ((performance.now() - t0) / 1000));
  console.log(`evaluator: ${evaluations} readings, ${perS.toLocaleString('en')} evaluations/s`);
  return perS;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

// The background publisher runs in its own thread (CommonJS, eval'd): QoS 0 telemetry.
const backgroundCode = `
const { parentPort, workerData } = require('node:worker_threads');
const mqtt = require('mqtt');
const { url, devices, rate, payload } = workerData;
const clients = devices.map((d) => mqtt.connect(url, { clientId: d.id, username: d.id, password: d.secret, reconnectPeriod: 0 }));
let sent = 0;
const tickMs = 10;
const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
let i = 0;
Promise.all(clients.map((c) => new Promise((r) => c.once('connect', r)))).then(() => {
  parentPort.postMessage({ ready: true });
  const started = Date.now();
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - started) / 1000) * rate) - sent;
    for (let k = 0; k < Math.min(due, perTick * 5); k++) {
      const c = clients[i++ % clients.length];
      c.publish('devices/' + c.options.username + '/telemetry', payload, { qos: 0 });
      sent++;
    }
  }, tickMs);
  parentPort.on('message', (m) => {
    if (m === 'stop') { clearInterval(timer); for (const c of clients) c.end(true); parentPort.postMessage({ sent, seconds: (Date.now() - started) / 1000 }); }
  });
});
`;

async function benchLatency(): Promise<{ p50: number; p99: number; background: number }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-rules-'));
  const config = loadConfig({
    DATABASE_URL: process.env.DATABASE_URL ?? '',
    DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(await freePort()),
    MQTT_PORT: '0',
    HTTP_PORT: '0',
    DEMO_DEVICE_COUNT: '2000',
    LOG_LEVEL: 'silent',
    // Background lamps publish far above a real lamp's rate: lift the per-device limit.
    MQTT_RATE_PER_S: '100000',
    MQTT_RATE_BURST: '1000000',
  });
  const hub = await startHub(config, { logger: pino({ level: 'silent' }) });
  try {
    const creds = hub.demoCredentials ?? [];
    const url = `mqtt://127.0.0.1:${hub.mqttPort}`;
    const lamps = creds.filter((c) => c.type === 'streetlight').slice(0, 200);
    const manholes = creds.filter((c) => c.type === 'manhole');
    const worker = new Worker(backgroundCode, {
      eval: true,
      workerData: {
        url,
        devices: lamps.map((c) => ({ id: c.id, secret: c.secret })),
        rate: targetRate,
        payload: JSON.stringify(normalReading('streetlight', 22)),
      },
    });
    await new Promise((resolve) => worker.once('message', resolve));
    // The operator logs in as the first admin (issue #5), as the control room does.
    const password = (await readFile(path.join(dataDir, 'admin-password'), 'utf8')).trim();
    const login = await fetch(`http://127.0.0.1:${hub.httpPort}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password }),
    });
    const { token } = (await login.json()) as { token: string };
    const operator = io(`http://127.0.0.1:${hub.httpPort}`, {
      transports: ['websocket'],
      auth: { token },
    });
    await new Promise((resolve) => operator.once('cases:snapshot', resolve));
    const waiting = new Map<string, (c: CaseRecord) => void>();
    operator.on('case:changed', (c) => {
      if (c.reason === 'created' && c.case.deviceId) waiting.get(c.case.deviceId)?.(c.case);
    });
    const messagesBefore = hub.ingest.counters.messages;
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 2000)); // background at full rate first

    const latencies: number[] = [];
    // The first few alarms warm up the JIT, the pool's connections and the case path: not counted.
    const warmUp = 5;
    const n = Math.min(samples, manholes.length - warmUp);
    for (let i = 0; i < n + warmUp; i++) {
      const m = manholes[i]!;
      const client = await mqtt.connectAsync(url, {
        clientId: m.id,
        username: m.id,
        password: m.secret,
        reconnectPeriod: 0,
      });
      const received = new Promise<number>((resolve) =>
        waiting.set(m.id, () => resolve(performance.now())),
      );
      const sentAt = performance.now();
      await client.publishAsync(`devices/${m.id}/events`, '{"tilt":45,"open":true}', { qos: 1 });
      const latency = (await received) - sentAt;
      if (i >= warmUp) latencies.push(latency);
      waiting.delete(m.id);
      await client.endAsync();
    }
    const seconds = (Date.now() - t0) / 1000;
    const background = Math.round((hub.ingest.counters.messages - messagesBefore - n) / seconds);
    worker.postMessage('stop');
    await new Promise((resolve) => worker.once('message', resolve));
    await worker.terminate();
    operator.close();
    const worst = latencies.map((v, i) => [i, Math.round(v)]).sort((a, b) => b[1]! - a[1]!);
    console.log(`slowest samples [index, ms]: ${JSON.stringify(worst.slice(0, 5))}`);
    latencies.sort((a, b) => a - b);
    const q = (p: number) => Math.round(latencies[Math.min(n - 1, Math.floor(p * n))]! * 10) / 10;
    console.log(
      `alarm latency over ${n} cases: p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, background ${background} msgs/s received`,
    );
    return { p50: q(0.5), p99: q(0.99), background };
  } finally {
    await hub.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const evalsPerS = benchEvaluator();
const latency = await benchLatency();
console.log(
  JSON.stringify({
    evals_per_s: evalsPerS,
    alarm_p50_ms: latency.p50,
    alarm_p99_ms: latency.p99,
    background_msgs_per_s: latency.background,
    target_background_msgs_per_s: targetRate,
    cpus: os.cpus().length,
    node: process.version,
  }),
);
process.exit(0);
