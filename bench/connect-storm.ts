/**
 * Connect storms (#17), side by side in one run:
 *
 * 1. **Fleet growth** (`--registry`, default 100,000): the gateway's LevelDB
 *    store holds a retained `status` for 10 %, 50 % and 100 % of the
 *    registry, as it does while a city comes online; at each size `--sample`
 *    devices CONNECT and SUBSCRIBE to their own `commands` topic (what every
 *    simulated and real device does) and the rate is measured. The same is
 *    measured with Aedes' own retained lookup (every retained message tested
 *    per SUBSCRIBE, the code before #17) on `--baseline-sample` devices.
 * 2. **Reconnect storm** (`--storm`, default 19,000): every device CONNECTs
 *    and SUBSCRIBEs at once to one node, after a restart (its store holds
 *    their statuses), with authentication (SHA-256 device tokens); beside it
 *    bare Aedes (anonymous, memory store, no hub code) and Mosquitto 2 with a
 *    password file of the same devices (its own instance on a free port), and
 *    the gateway again while `--bad-logins` (200) clients send wrong logins
 *    without pause through the hub's login guard and its hashing threads at
 *    nice `--hash-nice` (the hub's: 0; in the gateway process, no HTTP), the next
 *    when the last is answered, 100 ms after a 503. As in the hub, hashing takes
 *    `--storm-share` (0.1; 1: never yields) of a thread while the gateway sees
 *    100 CONNECTs a second (decision 0213). `--runs` (3); medians.
 *
 * Load generators are child processes with raw MQTT 3.1.1 packets, each from
 * its own loopback address. The last line is one JSON object.
 *
 * Run: bash -c 'ulimit -n $(ulimit -Hn); node --import tsx bench/connect-storm.ts'
 *      (--registry 100000 --sample 2000 --baseline-sample 100 --storm 19000 --procs 4
 *       --runs 3 --bad-logins 200; --part growth|storm for one half)
 */
import { spawn, fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import mqttPacket from 'mqtt-packet';
import pino from 'pino';
import { createBroker, createStormWatch, listenBacklog, type Broker } from '../src/broker/index.js';
import type { DeviceIdentity } from '../src/db/index.js';
import { hashDeviceSecret, hashSecret, secretCost } from '../src/domain/index.js';
import { connectPacket, subscribePacket } from './mqtt-raw.js';

const self = fileURLToPath(import.meta.url);
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const part = (() => {
  const i = process.argv.indexOf('--part');
  return i >= 0 ? process.argv[i + 1] : 'all';
})();
const secret = 'bench-secret-0123456789';
const idOf = (n: number) => `BENCH-${n}`;

// ---------------------------------------------------------------- load generator

interface ConnectJob {
  port: number;
  localAddress: string;
  from: number;
  count: number;
  auth: boolean;
  /** Sockets opening at once. */
  concurrency: number;
}
interface ConnectResult {
  ok: number;
  failed: number;
  ms: number;
}

/** CONNECT, CONNACK, SUBSCRIBE own commands topic, SUBACK; sockets kept open until told. */
async function connectChild(job: ConnectJob): Promise<void> {
  const sockets: net.Socket[] = [];
  let ok = 0;
  let failed = 0;
  let next = 0;
  const one = (n: number) =>
    new Promise<void>((resolve) => {
      const id = idOf(n);
      const socket = net.connect({
        port: job.port,
        host: '127.0.0.1',
        localAddress: job.localAddress,
      });
      sockets.push(socket);
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      let done = false;
      const finish = (good: boolean) => {
        if (done) return;
        done = true;
        if (good) ok++;
        else failed++;
        resolve();
      };
      parser.on('packet', (p: { cmd: string; returnCode?: number }) => {
        if (p.cmd === 'connack') {
          if (p.returnCode !== 0) return finish(false);
          socket.write(subscribePacket(`devices/${id}/commands`));
        } else if (p.cmd === 'suback') {
          finish(true);
        }
      });
      socket.on('data', (d) => parser.parse(d));
      socket.once('connect', () =>
        socket.write(job.auth ? connectPacket(id, id, secret) : connectPacket(id)),
      );
      socket.once('error', () => finish(false));
      socket.once('close', () => finish(false));
    });
  const worker = async () => {
    while (next < job.count) await one(job.from + next++);
  };
  // Started and ready: the parent says go to every generator at once.
  process.send!('ready');
  await new Promise((resolve) => process.once('message', resolve));
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(job.concurrency, job.count) }, worker));
  const result: ConnectResult = { ok, failed, ms: performance.now() - t0 };
  process.send!(result);
  process.on('message', () => {
    for (const s of sockets) s.destroy();
    setTimeout(() => process.exit(0), 50);
  });
}

let stormsPlayed = 0;
/** Runs generators against `port`; resolves with the time until every SUBACK, then closes them. */
async function storm(
  port: number,
  first: number,
  count: number,
  procs: number,
  auth: boolean,
  concurrency: number,
  /** Work the target still does after the last SUBACK (retained lookups). */
  settled: () => Promise<void> = async () => {},
): Promise<ConnectResult & { perS: number }> {
  const per = Math.ceil(count / procs);
  // Fresh source addresses each storm: reused ones still hold the last storm's 19,000
  // TIME_WAIT ports, and bind() searching past them slowed later storms by up to 70 %.
  const net8 = 1 + (stormsPlayed++ % 250);
  const children: ChildProcess[] = [];
  const results: Promise<ConnectResult>[] = [];
  await Promise.all(
    Array.from({ length: procs }, (_, k) => {
      const job: ConnectJob = {
        port,
        localAddress: `127.${net8}.0.${2 + k}`,
        from: first + k * per,
        count: Math.max(0, Math.min(per, count - k * per)),
        auth,
        concurrency,
      };
      const child = fork(self, ['--child', JSON.stringify(job)], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      children.push(child);
      return new Promise<void>((ready, reject) => {
        child.once('exit', (code) => reject(new Error(`generator exited with ${code}`)));
        child.once('message', () => {
          results.push(
            new Promise<ConnectResult>((resolve) =>
              child.once('message', (m) => resolve(m as ConnectResult)),
            ),
          );
          ready();
        });
      });
    }),
  );
  // Timed from the go (not from the generators' start-up) to the last SUBACK.
  const t0 = performance.now();
  for (const c of children) c.send('go');
  const done = await Promise.all(results);
  await settled();
  const ms = performance.now() - t0;
  await Promise.all(
    children.map(
      (c) =>
        new Promise((resolve) => {
          c.once('exit', resolve);
          c.send('stop');
        }),
    ),
  );
  const ok = done.reduce((n, r) => n + r.ok, 0);
  const failed = done.reduce((n, r) => n + r.failed, 0);
  return { ok, failed, ms, perS: Number(((ok / ms) * 1000).toFixed(1)) };
}

// ---------------------------------------------------------------- targets

const directory = {
  hash: hashDeviceSecret(secret),
  get(id: string): DeviceIdentity | undefined {
    return id.startsWith('BENCH-')
      ? {
          id,
          type: 'streetlight',
          gridCode: '430302001001001',
          secretHash: this.hash,
          enabled: true,
        }
      : undefined;
  },
  set: () => undefined,
};

async function hubGateway(dir: string): Promise<Broker> {
  return createBroker(
    directory,
    (_d, _k, _t, _p, ack) => ack(null),
    {
      host: '127.0.0.1',
      port: 0,
      maxPayloadBytes: 65536,
      maxConnections: 1e7,
      stores: { kind: 'level', dir },
      // Status records go nowhere: no database in this bench.
      statusSink: async () => {},
    },
    pino({ level: 'error' }),
  );
}

interface Retained {
  storeRetained(p: object): Promise<void>;
  createRetainedStreamCombi(filters: string[]): unknown;
}

/** Stores retained statuses of devices [from, to) directly (as their connects would have). */
async function fillStatuses(p: Retained, from: number, to: number): Promise<void> {
  const payload = Buffer.from(JSON.stringify({ online: false, ts: Date.now() }));
  for (let i = from; i < to; i += 1000) {
    const batch = [];
    for (let n = i; n < Math.min(to, i + 1000); n++) {
      batch.push(
        p.storeRetained({
          cmd: 'publish',
          topic: `devices/${idOf(n)}/status`,
          payload,
          qos: 1,
          retain: true,
        }),
      );
    }
    await Promise.all(batch);
  }
}

/**
 * Counts the retained lookups still running: Aedes sends SUBACK before it
 * reads the retained messages, so a connect's work is done only when its
 * lookup ends. `scan` switches to Aedes' own lookup (the level store tests
 * every retained message, as before #17).
 */
function retainedLookups(p: Retained) {
  const own = p.createRetainedStreamCombi.bind(p);
  const parent = Object.getPrototypeOf(Object.getPrototypeOf(p)) as Retained;
  let open = 0;
  let scan = false;
  p.createRetainedStreamCombi = (filters) => {
    open++;
    const source = (
      scan ? parent.createRetainedStreamCombi.call(p, filters) : own(filters)
    ) as AsyncIterable<unknown>;
    return Readable.from(
      (async function* () {
        try {
          yield* source;
        } catch {
          // Only at the end of the bench: the store closed.
        } finally {
          open--;
        }
      })(),
    );
  };
  return {
    set scan(on: boolean) {
      scan = on;
    },
    /** Resolves when no lookup is running. */
    async settled(): Promise<void> {
      while (open > 0) await new Promise((r) => setTimeout(r, 5));
    },
  };
}

async function bareAedes(): Promise<{ port: number; aedes: Aedes; close(): Promise<void> }> {
  const aedes = await Aedes.createBroker();
  const server = net.createServer((s) => aedes.handle(s));
  const at = { port: 0, host: '127.0.0.1', backlog: listenBacklog }; // the hub's accept queue
  await new Promise<void>((r) => server.listen(at, r));
  return {
    port: (server.address() as net.AddressInfo).port,
    aedes,
    close: () =>
      new Promise<void>((r) => {
        server.close();
        aedes.close(() => r());
      }),
  };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** Mosquitto 2 on a free port with a password file of `count` devices (mosquitto_passwd -U). */
async function mosquitto(
  dir: string,
  count: number,
): Promise<{ port: number; stop(): void } | null> {
  const port = await freePort();
  const passwords = path.join(dir, 'passwords');
  const lines = Array.from({ length: count }, (_, n) => `${idOf(n)}:${secret}`);
  await writeFile(passwords, lines.join('\n') + '\n', { mode: 0o600 });
  const hashed = spawn('mosquitto_passwd', ['-U', passwords], { stdio: 'inherit' });
  const code = await new Promise<number | null>((r) => {
    hashed.once('exit', r);
    hashed.once('error', () => r(-1));
  });
  if (code !== 0) {
    console.log('[skip] mosquitto_passwd failed: no Mosquitto column');
    return null;
  }
  const conf = path.join(dir, 'mosquitto.conf');
  await writeFile(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${passwords}`,
      'max_connections -1',
      'persistence false',
      'log_type error',
      // Started by root, Mosquitto would switch to its own user, who cannot read the temp dir.
      `user ${os.userInfo().username}`,
    ].join('\n') + '\n',
  );
  const child = spawn('mosquitto', ['-c', conf], { stdio: 'inherit' });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (up) return { port, stop: () => child.kill('SIGTERM') };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGTERM');
  console.log('[skip] mosquitto did not start: no Mosquitto column');
  return null;
}

/** `n` wrong logins in flight without pause, through the hub's login guard and scrypt. */
async function loginFlood(n: number, connects: () => number) {
  // Imported here: the load generators (this file's children) need none of the dashboard.
  const { createLoginGuard, defaultLoginGuard } = await import('../src/dashboard/index.js');
  const guard = createLoginGuard({
    ...defaultLoginGuard,
    maxFailuresPerAddress: 1e9,
    maxFailuresPerUser: 1e9,
    hashNice: arg('hash-nice', defaultLoginGuard.hashNice),
    stormShare: arg('storm-share', defaultLoginGuard.stormShare),
    storming: createStormWatch(connects, 100),
  });
  const stored = hashSecret('a-password-nobody-types', secretCost.password);
  let running = true;
  const counts = { checked: 0, busy: 0, rests: 0 };
  const loop = async (i: number) => {
    while (running) {
      const attempt = guard.admit(`nobody-${i}`, `10.0.${i >> 8}.${i & 255}`);
      try {
        const hash = await stored;
        await guard.verify('wrong-password', hash);
        counts.checked++;
        attempt.failed();
      } catch {
        // 503 at once: the client sends its next login 100 ms later.
        counts.busy++;
        attempt.abandoned();
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const loops = Array.from({ length: n }, (_, i) => loop(i));
  return {
    counts,
    async stop() {
      running = false;
      await Promise.all(loops);
      counts.rests = guard.load().stormRests;
      await guard.close();
    },
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : 0;
};

/**
 * Waits (at most 60 s) until the machine's CPUs were 85 % idle over a second:
 * what one phase leaves running (a broker closing 19,000 sockets, LevelDB
 * compacting) must not be timed in the next. Returns the seconds waited.
 */
async function waitQuiet(): Promise<number> {
  const idle = async () => {
    const f = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.split(/\s+/).slice(1);
    const n = f.map(Number);
    return { idle: n[3]! + n[4]!, total: n.reduce((a, b) => a + b, 0) };
  };
  const t0 = performance.now();
  try {
    for (let a = await idle(); performance.now() - t0 < 60_000;) {
      await new Promise((r) => setTimeout(r, 1000));
      const b = await idle();
      if ((b.idle - a.idle) / Math.max(1, b.total - a.total) >= 0.85) break;
      a = b;
    }
  } catch {
    await new Promise((r) => setTimeout(r, 2000)); // no /proc/stat: a pause instead
  }
  return Math.round((performance.now() - t0) / 1000);
}

async function waitIdle(clients: () => number): Promise<void> {
  for (let i = 0; i < 400 && clients() > 0; i++) await new Promise((r) => setTimeout(r, 50));
}

// ---------------------------------------------------------------- main

async function growth(dir: string) {
  const registry = arg('registry', 100_000);
  const sample = arg('sample', 2000);
  const baselineSample = arg('baseline-sample', 100);
  const procs = arg('procs', 4);
  const broker = await hubGateway(path.join(dir, 'growth'));
  const p = (broker.aedes as unknown as { persistence: Retained }).persistence;
  const lookups = retainedLookups(p);
  const rows: { share: number; retained: number; perS: number; scanPerS: number }[] = [];
  let filled = 0;
  // Connecting devices come from past the registry's statuses, so each run finds the same store.
  let next = registry;
  for (const share of [0.1, 0.5, 1]) {
    const target = Math.round(registry * share);
    const t0 = performance.now();
    await fillStatuses(p, filled, target);
    filled = target;
    console.log(
      `growth: ${filled} retained statuses stored (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
    const fast = await storm(broker.port, next, sample, procs, true, 50, lookups.settled);
    next += sample;
    await waitIdle(() => broker.aedes.connectedClients);
    lookups.scan = true;
    const scan = await storm(broker.port, next, baselineSample, procs, true, 50, lookups.settled);
    lookups.scan = false;
    next += baselineSample;
    await waitIdle(() => broker.aedes.connectedClients);
    console.log(
      `growth: ${Math.round(share * 100)} % (${filled} retained): ${fast.perS} connects/s ` +
        `(${fast.ok} ok, ${fast.failed} failed); Aedes' scan: ${scan.perS} connects/s (${scan.ok} ok)`,
    );
    rows.push({ share, retained: filled, perS: fast.perS, scanPerS: scan.perS });
  }
  await broker.close();
  const lastToFirst = rows.at(-1)!.perS / rows[0]!.perS;
  return {
    registry,
    sample,
    baseline_sample: baselineSample,
    growth: rows,
    last_to_first: Number(lastToFirst.toFixed(2)),
  };
}

async function storms(dir: string) {
  const count = arg('storm', 19_000);
  const procs = arg('procs', 4);
  const runs = arg('runs', 3);
  const badLogins = arg('bad-logins', 200);
  const concurrency = arg('concurrency', 1000);
  const broker = await hubGateway(path.join(dir, 'storm'));
  const p = (broker.aedes as unknown as { persistence: Retained }).persistence;
  await fillStatuses(p, 0, count);
  const lookups = retainedLookups(p);
  const bare = await bareAedes();
  const mq = await mosquitto(dir, count);
  const times = {
    hub: [] as number[],
    aedes: [] as number[],
    mosquitto: [] as number[],
    hubLogins: [] as number[],
  };
  const fail = { hub: 0, aedes: 0, mosquitto: 0, hubLogins: 0 };
  let loginCounts = { checked: 0, busy: 0, rests: 0 };
  type Phase = 'hub' | 'aedes' | 'mosquitto' | 'hubLogins';
  const none = { ok: 0, failed: 0, ms: 0, perS: 0 };
  const play: Record<Phase, () => Promise<ConnectResult & { perS: number }>> = {
    hub: () => storm(broker.port, 0, count, procs, true, concurrency, lookups.settled),
    aedes: () => storm(bare.port, 0, count, procs, false, concurrency),
    mosquitto: async () => (mq ? storm(mq.port, 0, count, procs, true, concurrency) : none),
    async hubLogins() {
      const flood = await loginFlood(badLogins, () => broker.counters.connects);
      const r = await storm(broker.port, 0, count, procs, true, concurrency, lookups.settled);
      await flood.stop();
      loginCounts = flood.counts;
      return r;
    },
  };
  const phases: Phase[] = ['hub', 'aedes', 'mosquitto', 'hubLogins'];
  const williams = [0, 1, 3, 2];
  for (let run = 1; run <= runs; run++) {
    // A Williams square over four runs: every target is timed once in every place and once
    // after each other target (a place cost up to 50 %, session 8; a plain rotation always
    // timed the flood right after Mosquitto, session 9).
    const order = williams.map((w) => phases[(w + run - 1) % phases.length]!);
    const r = {} as Record<Phase, ConnectResult & { perS: number }>;
    const waited: number[] = [];
    for (const phase of order) {
      waited.push(await waitQuiet());
      r[phase] = await play[phase]();
      await waitIdle(() => broker.aedes.connectedClients + bare.aedes.connectedClients);
    }
    const { hub: h, aedes: a, hubLogins: hl } = r;
    const m = mq ? r.mosquitto : null;
    console.log(`(order ${order.join(', ')}; waited for a quiet machine ${waited.join(', ')} s)`);
    times.hub.push(h.ms);
    times.aedes.push(a.ms);
    if (m) times.mosquitto.push(m.ms);
    times.hubLogins.push(hl.ms);
    fail.hub += count - h.ok;
    fail.aedes += count - a.ok;
    fail.mosquitto += m ? count - m.ok : 0;
    fail.hubLogins += count - hl.ok;
    console.log(
      `storm run ${run}: ${count} devices CONNECT+SUBSCRIBE at once — hub ${(h.ms / 1000).toFixed(2)} s (${h.ok} ok), ` +
        `bare Aedes ${(a.ms / 1000).toFixed(2)} s (${a.ok} ok), ` +
        (m ? `Mosquitto ${(m.ms / 1000).toFixed(2)} s (${m.ok} ok), ` : '') +
        `hub with ${badLogins} bad logins ${(hl.ms / 1000).toFixed(2)} s (${hl.ok} ok; ` +
        `${loginCounts.checked} logins checked, ${loginCounts.rests} after it rested, ${loginCounts.busy} refused busy)`,
    );
  }
  await broker.close();
  await bare.close();
  mq?.stop();
  const s = (ms: number) => Number((ms / 1000).toFixed(2));
  const hub = median(times.hub);
  const aedes = median(times.aedes);
  const mosq = times.mosquitto.length ? median(times.mosquitto) : null;
  const hubLogins = median(times.hubLogins);
  return {
    storm_devices: count,
    runs,
    storm_hub_s: s(hub),
    storm_bare_aedes_s: s(aedes),
    storm_mosquitto_s: mosq === null ? null : s(mosq),
    storm_hub_with_bad_logins_s: s(hubLogins),
    hub_to_bare_aedes: Number((hub / aedes).toFixed(2)),
    hub_to_mosquitto: mosq ? Number((hub / mosq).toFixed(2)) : null,
    hub_with_logins_to_bare_aedes: Number((hubLogins / aedes).toFixed(2)),
    not_connected: fail,
    last_flood_logins: loginCounts,
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hub-bench-storm-'));
  console.log(
    `load: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${os.cpus().length} cores`,
  );
  try {
    const out = {
      ...(part === 'all' || part === 'growth' ? await growth(dir) : {}),
      ...(part === 'all' || part === 'storm' ? await storms(dir) : {}),
      load_after: os.loadavg().map((l) => Number(l.toFixed(1))),
    };
    console.log(JSON.stringify(out));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const childIndex = process.argv.indexOf('--child');
if (childIndex >= 0) {
  void connectChild(JSON.parse(process.argv[childIndex + 1]!) as ConnectJob);
} else {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
