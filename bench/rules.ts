/**
 * Rules engine benchmark (#4), two figures:
 *  1. evaluations per second through the evaluator alone with the full rule
 *     pack, 10,000 devices of all seven types, one reading per call, one core;
 *  2. alarm latency from an MQTT publish (a manhole cover lifted) to the
 *     socket.io client receiving the case, p50 and p99, while background
 *     telemetry flows at the target rate from a worker thread.
 * The latency part runs `runs` times (a fresh hub each) and reports each
 * run and the median of their p50 and p99 (issue 17: ≥ 1,000 samples, the
 * median of three runs). Each sample is split where it went: publish → alarm
 * opened (broker, ingest, rules, alarm row), → case created (the case
 * transaction), → socket.io client (case feed, emit); GC pauses during the run
 * are counted, and the slowest samples name the GC that overlapped them.
 * The last line is one JSON object. Needs no database server: with
 * DATABASE_URL unset the hub starts its embedded PostgreSQL in a temp dir.
 * Run: npx tsx bench/rules.ts [evaluations] [background msgs/s] [alarm samples] [runs]
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  monitorEventLoopDelay,
  performance,
  PerformanceObserver,
  type PerformanceEntry,
} from 'node:perf_hooks';
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
const samples = Number(process.argv[4] ?? 1000);
const runs = Number(process.argv[5] ?? 3);
const warmUp = 5;
/** Manholes are 15 % of the demo city: enough of them for one lift each. */
const deviceCount = Math.max(2000, Math.ceil((samples + warmUp) / 0.15) + 100);

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

/**
 * With BENCH_CPU_PROFILE=<file>, a CPU profile of the hub's thread while the
 * samples run (not the start-up), for chrome://inspect or speedscope.
 */
async function startProfile() {
  const file = process.env.BENCH_CPU_PROFILE;
  if (!file) return null;
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))),
    );
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
  return {
    async stop() {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      await writeFile(file, JSON.stringify(profile));
      session.disconnect();
      console.log(`cpu profile of the samples: ${file}`);
    },
  };
}

interface Latency {
  p50: number;
  p99: number;
  background: number;
}

async function benchLatency(): Promise<Latency> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-rules-'));
  const config = loadConfig({
    DATABASE_URL: process.env.DATABASE_URL ?? '',
    DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(await freePort()),
    MQTT_PORT: '0',
    HTTP_PORT: '0',
    DEMO_DEVICE_COUNT: String(deviceCount),
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
    // Where each sample's time went: the hub runs in this process, so its own events say.
    const alarmAt = new Map<string, number>();
    const caseAt = new Map<string, number>();
    hub.alarms.onAlarm((e) => {
      if (e.kind === 'opened' && e.alarm.deviceId) alarmAt.set(e.alarm.deviceId, performance.now());
    });
    hub.cases.onChange((c) => {
      if (c.reason === 'created' && c.case.deviceId) caseAt.set(c.case.deviceId, performance.now());
    });
    const gcs: PerformanceEntry[] = [];
    const gcObserver = new PerformanceObserver((list) => gcs.push(...list.getEntries()));
    gcObserver.observe({ entryTypes: ['gc'] });
    const messagesBefore = hub.ingest.counters.messages;
    // The hub's event loop (this process's main thread): how long a ready callback waited.
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    const eluBefore = performance.eventLoopUtilization();
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 2000)); // background at full rate first
    loopDelay.enable();
    const profile = await startProfile();

    const latencies: number[] = [];
    const parts: { sentAt: number; total: number; alarm: number; kase: number; emit: number }[] =
      [];
    // The first few alarms warm up the JIT, the pool's connections and the case path: not counted.
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
      const receivedAt = await received;
      const latency = receivedAt - sentAt;
      if (i >= warmUp) {
        latencies.push(latency);
        const a = alarmAt.get(m.id) ?? sentAt;
        const k = caseAt.get(m.id) ?? a;
        parts.push({
          sentAt,
          total: latency,
          alarm: a - sentAt,
          kase: k - a,
          emit: receivedAt - k,
        });
      }
      waiting.delete(m.id);
      await client.endAsync();
    }
    loopDelay.disable();
    await profile?.stop();
    const elu = performance.eventLoopUtilization(eluBefore).utilization;
    const seconds = (Date.now() - t0) / 1000;
    const background = Math.round((hub.ingest.counters.messages - messagesBefore - n) / seconds);
    worker.postMessage('stop');
    await new Promise((resolve) => worker.once('message', resolve));
    await worker.terminate();
    operator.close();
    gcObserver.disconnect();
    const r1 = (v: number) => Math.round(v * 10) / 10;
    const byTotal = [...parts].sort((a, b) => b.total - a.total);
    const tail = byTotal.slice(0, Math.max(1, Math.ceil(parts.length / 100)));
    const gcIn = (p: (typeof parts)[number]) =>
      gcs
        .filter((g) => g.startTime < p.sentAt + p.total && g.startTime + g.duration > p.sentAt)
        .reduce((ms, g) => ms + g.duration, 0);
    console.log(
      `slowest 1 % [total, publish→alarm, alarm→case, case→socket, GC overlapping] ms: ${JSON.stringify(
        tail.slice(0, 10).map((p) => [p.total, p.alarm, p.kase, p.emit, gcIn(p)].map(r1)),
      )}`,
    );
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(
      `median split ms: publish→alarm ${r1(median(parts.map((p) => p.alarm)))}, alarm→case ${r1(
        median(parts.map((p) => p.kase)),
      )}, case→socket ${r1(median(parts.map((p) => p.emit)))}; GC: ${gcs.length} pauses, ${r1(
        gcs.reduce((s, g) => s + g.duration, 0),
      )} ms in all, longest ${r1(Math.max(0, ...gcs.map((g) => g.duration)))} ms; tail samples with GC: ${
        tail.filter((p) => gcIn(p) > 0).length
      } of ${tail.length}`,
    );
    const ms = (ns: number) => r1(ns / 1e6);
    console.log(
      `hub event loop: utilisation ${Math.round(elu * 100)} %, delay p50 ${ms(
        loopDelay.percentile(50),
      )} ms, p99 ${ms(loopDelay.percentile(99))} ms, max ${ms(loopDelay.max)} ms`,
    );
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
const results: Latency[] = [];
for (let r = 0; r < runs; r++) {
  console.log(`latency run ${r + 1} of ${runs} (${deviceCount} demo devices)`);
  results.push(await benchLatency());
}
const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const latency: Latency = {
  p50: medianOf(results.map((r) => r.p50)),
  p99: medianOf(results.map((r) => r.p99)),
  background: medianOf(results.map((r) => r.background)),
};
console.log(
  `median of ${runs} runs: p50 ${latency.p50} ms, p99 ${latency.p99} ms (runs' p99: ${results
    .map((r) => r.p99)
    .join(', ')} ms)`,
);
console.log(
  JSON.stringify({
    evals_per_s: evalsPerS,
    alarm_p50_ms: latency.p50,
    alarm_p99_ms: latency.p99,
    alarm_p99_runs_ms: results.map((r) => r.p99),
    alarm_samples_per_run: samples,
    background_msgs_per_s: latency.background,
    target_background_msgs_per_s: targetRate,
    cpus: os.cpus().length,
    node: process.version,
  }),
);
process.exit(0);
