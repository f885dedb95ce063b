/**
 * The device gateway under load (#6), next to the machine's Mosquitto:
 * 1. idle authenticated device connections held by one gateway node, with
 *    the node's resident memory per connection;
 * 2. messages forwarded per second at QoS 0 and 1 (publishers → one
 *    subscriber), gateway and Mosquitto driven by the same load generator.
 * The gateway runs in this process (auth, ACL, limits on; ingest replaced by
 * an immediate ack, so no database); load generators are child processes,
 * each with its own file limit and loopback source address (127.0.0.2, …).
 * Everything is loopback and bounded; the last line is one JSON object.
 *
 * `--nodes 2` (or more): a cluster instead. Each node is a child process
 * with the gateway sharing the machine's Redis (REDIS_URL, default
 * redis://127.0.0.1:6379: mqemitter-redis and aedes-persistence-redis, under
 * a key prefix of this run, deleted at the end); generator k connects to
 * node k mod nodes; forwarding is publishers on the first node, subscriber
 * on the second, so every message crosses Redis.
 *
 * Run: bash -c 'ulimit -n $(ulimit -Hn); node --expose-gc --import tsx bench/broker.ts \
 *        --idle 19000 --procs 4 --messages 200000 --publishers 10'
 *      bash -c 'ulimit -n $(ulimit -Hn); node --expose-gc --import tsx bench/broker.ts \
 *        --nodes 2 --idle 38000 --procs 4 --messages 200000 --publishers 10'
 *      node --import tsx bench/broker.ts --part forward --runs 3 [--qos 0,1] [--node-prof DIR]
 *        [--emitters batched,mqemitter-redis]
 *        (#17: cross-node forwarding only, the batched emitter beside mqemitter-redis and
 *        Mosquitto in each run; `--node-prof`: CPU profiles of the gateway nodes)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { createBroker, type Broker, type StoreOptions } from '../src/broker/index.js';
import type { DeviceIdentity } from '../src/db/index.js';
import { hashDeviceSecret } from '../src/domain/index.js';
import { redisReachable, redisTestPrefix } from '../test/support/redis.js';
import { connectPacket } from './mqtt-raw.js';

const self = fileURLToPath(import.meta.url);
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const flag = (name: string) => process.argv.includes(`--${name}`);
const secret = 'bench-secret-0123456789';
const servicePassword = 'bench-service-password';

// ---------------------------------------------------------------- children

/** A gateway node of a cluster. */
interface NodeJob {
  kind: 'node';
  nodeId: string;
  redisUrl: string;
  keyPrefix: string;
  emitter: Emitter;
}
/** How the nodes share fan-out (src/broker/stores.ts): since #17, or as before. */
type Emitter = 'batched' | 'mqemitter-redis';
/** What a node reports when asked: its resident memory after gc() and its clients. */
interface NodeReport {
  port: number;
  rssKb: number;
  clients: number;
}

interface IdleJob {
  kind: 'idle';
  port: number;
  localAddress: string;
  from: number;
  count: number;
}
interface FlowJob {
  kind: 'flow';
  url: string;
  /** Where the subscriber connects; `url` when absent. */
  subUrl?: string;
  qos: 0 | 1;
  messages: number;
  publishers: number;
  /** Topic of publisher i; `{i}` replaced. */
  topic: string;
  filter: string;
  auth: boolean;
}

async function idleChild(job: IdleJob): Promise<void> {
  const sockets: net.Socket[] = [];
  let connected = 0;
  let failed = 0;
  let next = 0;
  const openOne = (i: number) =>
    new Promise<void>((resolve) => {
      const id = `BENCH-${i}`;
      const socket = net.connect({
        port: job.port,
        host: '127.0.0.1',
        localAddress: job.localAddress,
      });
      sockets.push(socket);
      socket.once('connect', () => socket.write(connectPacket(id, id, secret)));
      socket.once('data', (d: Buffer) => {
        if (d[0] === 0x20 && d[3] === 0) connected++;
        else failed++;
        resolve();
      });
      socket.once('error', () => {
        failed++;
        resolve();
      });
    });
  const worker = async () => {
    while (next < job.count) await openOne(job.from + next++);
  };
  await Promise.all(Array.from({ length: 100 }, worker));
  process.send!({ connected, failed });
  process.on('message', () => {
    for (const s of sockets) s.destroy();
    process.exit(0);
  });
}

function connectAsync(url: string, options: mqtt.IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, ...options });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

async function flowChild(job: FlowJob): Promise<void> {
  const sub = await connectAsync(job.subUrl ?? job.url, {
    clientId: `bench-sub-${randomBytes(3).toString('hex')}`,
    ...(job.auth ? { username: 'service:bench', password: servicePassword } : {}),
  });
  await sub.subscribeAsync(job.filter, { qos: job.qos });
  const pubs = await Promise.all(
    Array.from({ length: job.publishers }, (_, i) =>
      connectAsync(job.url, {
        clientId: `BENCH-P${i}`,
        ...(job.auth ? { username: `BENCH-P${i}`, password: secret } : {}),
      }),
    ),
  );
  const total = job.messages - (job.messages % job.publishers);
  let received = 0;
  let lastAt = 0;
  sub.on('message', () => {
    received++;
    lastAt = performance.now();
  });
  const payload = Buffer.from('{"pm10":86.5,"pm25":51,"noise":63.2}');
  const window = 200;
  const t0 = performance.now();
  await Promise.all(
    pubs.map(
      (c, i) =>
        new Promise<void>((resolve) => {
          const topic = job.topic.replace('{i}', String(i));
          const n = total / job.publishers;
          let sent = 0;
          let inflight = 0;
          const pump = () => {
            while (inflight < window && sent < n) {
              inflight++;
              sent++;
              c.publish(topic, payload, { qos: job.qos }, () => {
                inflight--;
                if (sent === n && inflight === 0) resolve();
                else if (inflight < window / 2) pump();
              });
            }
          };
          pump();
        }),
    ),
  );
  // Wait for the deliveries to stop: all of them, or 3 s without progress (bounded).
  for (let seen = -1; received < total && received !== seen;) {
    seen = received;
    await new Promise((r) => setTimeout(r, 3000));
  }
  const seconds = ((lastAt || performance.now()) - t0) / 1000;
  process.send!({ received, total, msgsPerS: Math.round(received / seconds) });
  for (const c of [...pubs, sub]) c.end(true);
  setTimeout(() => process.exit(0), 100);
}

/** The bench's gateway: every `BENCH-*` device exists with the one secret; ingest acks at once. */
async function startGateway(stores?: StoreOptions, nodeId?: string): Promise<Broker> {
  const hash = hashDeviceSecret(secret);
  const identity = (id: string): DeviceIdentity | undefined =>
    id.startsWith('BENCH-')
      ? { id, type: 'dust_noise', gridCode: '430302001001001', secretHash: hash, enabled: true }
      : undefined;
  return createBroker(
    { get: identity, set: () => undefined },
    (_d, _k, _t, _p, ack) => ack(null),
    {
      host: '127.0.0.1',
      port: 0,
      maxPayloadBytes: 65536,
      ratePerS: 1e6,
      rateBurst: 1e6,
      servicePassword,
      maxConnections: 1e7,
      ...(stores ? { stores } : {}),
      ...(nodeId ? { nodeId } : {}),
    },
    pino({ level: 'warn' }),
  );
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();
const rssKb = () => {
  gc();
  gc();
  return process.memoryUsage().rss / 1024;
};

async function nodeChild(job: NodeJob): Promise<void> {
  const broker = await startGateway(
    { kind: 'redis', url: job.redisUrl, keyPrefix: job.keyPrefix, emitter: job.emitter },
    job.nodeId,
  );
  const report = (): NodeReport => ({
    port: broker.port,
    rssKb: rssKb(),
    clients: broker.aedes.connectedClients,
  });
  process.send!(report());
  process.on('message', (m) => {
    if (m === 'report') process.send!(report());
    else void broker.close().then(() => process.exit(0));
  });
}

// ---------------------------------------------------------------- parent

function runChild<T>(
  job: IdleJob | FlowJob | NodeJob,
  keep = false,
): { child: ChildProcess; result: Promise<T> } {
  const profileDir = process.argv.includes('--node-prof')
    ? process.argv[process.argv.indexOf('--node-prof') + 1]
    : undefined;
  const child = fork(self, ['--child', JSON.stringify(job)], {
    // Nodes measure their memory after gc(); generators need not.
    execArgv: [
      ...process.execArgv.filter((a) => job.kind === 'node' || a !== '--expose-gc'),
      // `--node-prof DIR`: a CPU profile of each gateway node (publishing and receiving).
      ...(job.kind === 'node' && profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const result = new Promise<T>((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('exit', (code) => {
      if (!keep || code !== 0) reject(new Error(`load generator exited with ${code}`));
    });
  });
  return { child, result };
}

/** A node's next report. */
function ask(child: ChildProcess): Promise<NodeReport> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as NodeReport));
    child.send('report');
  });
}

interface Gateway {
  /** Where generator k connects. */
  portFor(k: number): number;
  /** Per node: resident memory (KB, after gc) and clients held. */
  report(): Promise<NodeReport[]>;
  /** Publishers' and subscriber's URLs for the forwarding runs. */
  readonly pubUrl: string;
  readonly subUrl: string;
  close(): Promise<void>;
}

async function inProcessGateway(): Promise<Gateway> {
  const broker = await startGateway();
  const url = `mqtt://127.0.0.1:${broker.port}`;
  return {
    portFor: () => broker.port,
    report: async () => [
      { port: broker.port, rssKb: rssKb(), clients: broker.aedes.connectedClients },
    ],
    pubUrl: url,
    subUrl: url,
    close: () => broker.close(),
  };
}

async function clusterGateway(nodes: number, emitter: Emitter = 'batched'): Promise<Gateway> {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (!(await redisReachable(redisUrl))) throw new Error(`--nodes needs Redis at ${redisUrl}`);
  const { prefix, cleanUp } = redisTestPrefix(redisUrl);
  const children = Array.from({ length: nodes }, (_, i) =>
    runChild<NodeReport>(
      { kind: 'node', nodeId: `bench-node-${i}`, redisUrl, keyPrefix: prefix, emitter },
      true,
    ),
  );
  const first = await Promise.all(children.map((c) => c.result));
  const urlOf = (i: number) => `mqtt://127.0.0.1:${first[i % nodes]!.port}`;
  return {
    portFor: (k) => first[k % nodes]!.port,
    report: () => Promise.all(children.map((c) => ask(c.child))),
    pubUrl: urlOf(0),
    subUrl: urlOf(1),
    async close() {
      await Promise.all(
        children.map(
          (c) =>
            new Promise((resolve) => {
              c.child.once('exit', resolve);
              c.child.send('stop');
            }),
        ),
      );
      await cleanUp();
    },
  };
}

const mosquittoPrefix = `bench-${randomBytes(4).toString('hex')}`;

/** One forwarding run: publishers → one subscriber, through the gateway or Mosquitto; msgs/s. */
async function forwardFlow(
  target: 'gateway' | 'mosquitto',
  qos: 0 | 1,
  gateway: Pick<Gateway, 'pubUrl' | 'subUrl'>,
  o: { messages: number; publishers: number; mosquittoPort: number; label?: string },
): Promise<number> {
  const job: FlowJob =
    target === 'gateway'
      ? {
          kind: 'flow',
          url: gateway.pubUrl,
          subUrl: gateway.subUrl,
          qos,
          messages: o.messages,
          publishers: o.publishers,
          topic: 'devices/BENCH-P{i}/telemetry',
          filter: 'devices/+/telemetry',
          auth: true,
        }
      : {
          kind: 'flow',
          url: `mqtt://127.0.0.1:${o.mosquittoPort}`,
          qos,
          messages: o.messages,
          publishers: o.publishers,
          topic: `${mosquittoPrefix}/devices/BENCH-P{i}/telemetry`,
          filter: `${mosquittoPrefix}/devices/+/telemetry`,
          auth: false,
        };
  const label = o.label ?? target;
  const r = await runChild<{ received: number; total: number; msgsPerS: number }>(
    job,
    true,
  ).result.catch((err: Error) => {
    console.log(`${label} QoS ${qos}: ${err.message}`);
    return { received: 0, total: o.messages, msgsPerS: 0 };
  });
  console.log(
    `${label.padEnd(9)} QoS ${qos}: ${r.msgsPerS} msgs/s (${r.received}/${r.total} delivered)`,
  );
  return r.msgsPerS;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * `--part forward` (#17): cross-node forwarding only, the batched emitter and
 * mqemitter-redis (the code before #17) side by side with Mosquitto, `--runs`
 * rounds in turn (so machine load hits all three alike); medians and ratios.
 */
async function forwardPart(): Promise<void> {
  const runs = Math.max(1, arg('runs', 3));
  const messages = arg('messages', 200_000);
  const publishers = arg('publishers', 10);
  const mosquittoPort = arg('mosquitto-port', 1883);
  const nodes = Math.max(2, arg('nodes', 2));
  const qosList = (
    process.argv.includes('--qos')
      ? process.argv[process.argv.indexOf('--qos') + 1]!.split(',').map(Number)
      : [0]
  ) as (0 | 1)[];
  const emitters = (
    process.argv.includes('--emitters')
      ? process.argv[process.argv.indexOf('--emitters') + 1]!.split(',')
      : ['batched', 'mqemitter-redis']
  ) as Emitter[];
  const o = { messages, publishers, mosquittoPort };
  const rates: Record<string, number[]> = {};
  const add = (key: string, v: number) => (rates[key] ??= []).push(v);
  console.log(
    `forwarding across ${nodes} nodes sharing Redis (publishers on node 0, subscriber on node 1): ` +
      `${runs} runs of ${messages} messages, ${publishers} publishers; load ${loadAverage()}`,
  );
  for (let run = 1; run <= runs; run++) {
    for (const qos of qosList) {
      for (const emitter of emitters) {
        const gateway = await clusterGateway(nodes, emitter);
        add(
          `${emitter}_qos${qos}`,
          await forwardFlow('gateway', qos, gateway, { ...o, label: emitter }),
        );
        await gateway.close();
      }
      add(`mosquitto_qos${qos}`, await forwardFlow('mosquitto', qos, gateway0, o));
    }
    console.log(`run ${run} done; load ${loadAverage()}`);
  }
  const result: Record<string, unknown> = { nodes, runs, messages, publishers };
  for (const qos of qosList) {
    const mosq = median(rates[`mosquitto_qos${qos}`]!);
    result[`mosquitto_qos${qos}_msgs_per_s`] = mosq;
    for (const emitter of emitters) {
      const key = `${emitter}_qos${qos}`;
      const m = median(rates[key]!);
      const perRun = rates[key]!.map((r, i) =>
        Number((r / rates[`mosquitto_qos${qos}`]![i]!).toFixed(2)),
      );
      result[`${key}_msgs_per_s`] = m;
      result[`${key}_ratio_to_mosquitto`] = Number((m / mosq).toFixed(2));
      result[`${key}_ratios_per_run`] = perRun;
      console.log(
        `median QoS ${qos} ${emitter}: ${m} msgs/s, ${(m / mosq).toFixed(2)} of Mosquitto's ` +
          `${mosq} (per run ${perRun.join(', ')})`,
      );
    }
  }
  result.load_average_end = loadAverage();
  console.log(JSON.stringify({ ...result, runs_msgs_per_s: rates }));
}

/** Mosquitto's runs need no gateway URLs. */
const gateway0 = { pubUrl: '', subUrl: '' };
const loadAverage = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

async function main(): Promise<void> {
  const idle = arg('idle', 5000);
  const procs = Math.max(1, arg('procs', 4));
  const messages = arg('messages', 100_000);
  const publishers = arg('publishers', 10);
  const mosquittoPort = arg('mosquitto-port', 1883);

  const nodes = Math.max(1, arg('nodes', 1));
  const gateway = nodes > 1 ? await clusterGateway(nodes) : await inProcessGateway();
  console.log(
    nodes > 1
      ? `cluster of ${nodes} gateway nodes sharing Redis; load generators: ${procs} processes`
      : `gateway on ${gateway.pubUrl}; load generators: ${procs} processes`,
  );

  // 1. idle connections
  const before = await gateway.report();
  const per = Math.ceil(idle / procs);
  const started = performance.now();
  const jobs = Array.from({ length: procs }, (_, k) =>
    runChild<{ connected: number; failed: number }>(
      {
        kind: 'idle',
        port: gateway.portFor(k),
        localAddress: `127.0.0.${2 + k}`,
        from: k * per,
        count: Math.min(per, idle - k * per),
      },
      true,
    ),
  );
  const results = await Promise.all(jobs.map((j) => j.result));
  const connectS = (performance.now() - started) / 1000;
  const connected = results.reduce((n, r) => n + r.connected, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  const after = await gateway.report();
  const held = after.reduce((n, r) => n + r.clients, 0);
  const perNode = after.map((r, i) => ({
    connections: r.clients,
    rss_mb: Math.round(r.rssKb / 1024),
    kb_per_connection: r.clients
      ? Number(((r.rssKb - before[i]!.rssKb) / r.clients).toFixed(1))
      : 0,
  }));
  const kbPerConnection = held
    ? after.reduce((n, r, i) => n + r.rssKb - before[i]!.rssKb, 0) / held
    : 0;
  console.log(
    `idle: ${connected} authenticated connections (${failed} failed) in ${connectS.toFixed(1)} s; ` +
      `held ${held}; ${kbPerConnection.toFixed(1)} KB per connection`,
  );
  after.forEach((r, i) =>
    console.log(
      `  node ${i}: ${r.clients} connections, RSS ${Math.round(before[i]!.rssKb / 1024)} → ` +
        `${Math.round(r.rssKb / 1024)} MB, ${perNode[i]!.kb_per_connection} KB per connection`,
    ),
  );
  for (const j of jobs) j.child.send('stop');
  for (let i = 0; i < 200; i++) {
    if ((await gateway.report()).every((r) => r.clients === 0)) break;
    await new Promise((r) => setTimeout(r, 50));
  }

  // 2. forwarding, same load generator against both brokers
  const flow = (target: 'gateway' | 'mosquitto', qos: 0 | 1) =>
    forwardFlow(target, qos, gateway, { messages, publishers, mosquittoPort });
  const skipMosquitto = flag('skip-mosquitto');
  const figures = {
    idle_connections: connected,
    nodes,
    cluster_connections: held,
    per_node: perNode,
    kb_per_connection: Number(kbPerConnection.toFixed(1)),
    idle_connect_s: Number(connectS.toFixed(1)),
    qos0_msgs_per_s: await flow('gateway', 0),
    mosquitto_qos0_msgs_per_s: skipMosquitto ? null : await flow('mosquitto', 0),
    qos1_msgs_per_s: await flow('gateway', 1),
    mosquitto_qos1_msgs_per_s: skipMosquitto ? null : await flow('mosquitto', 1),
  };
  const ratio = (a: number, b: number | null) => (b ? Number((a / b).toFixed(2)) : null);
  await gateway.close();
  console.log(
    JSON.stringify({
      ...figures,
      qos0_ratio_to_mosquitto: ratio(figures.qos0_msgs_per_s, figures.mosquitto_qos0_msgs_per_s),
      qos1_ratio_to_mosquitto: ratio(figures.qos1_msgs_per_s, figures.mosquitto_qos1_msgs_per_s),
    }),
  );
}

const childIndex = process.argv.indexOf('--child');
if (childIndex >= 0) {
  const job = JSON.parse(process.argv[childIndex + 1]!) as IdleJob | FlowJob | NodeJob;
  const run = { idle: idleChild, flow: flowChild, node: nodeChild }[job.kind] as (
    j: typeof job,
  ) => Promise<void>;
  void run(job);
} else {
  (process.argv[process.argv.indexOf('--part') + 1] === 'forward' ? forwardPart() : main()).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
