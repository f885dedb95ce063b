import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { connectDevice, quietReading, waitFor } from '../support/hub.js';
import { freePort } from '../support/ports.js';

/**
 * Issue 17: `npm start`, then Ctrl-C in the terminal, or `kill -9`. The hub
 * runs as `npm start` runs it (its own process, embedded PostgreSQL) in a
 * process group of its own, as a terminal's foreground job is.
 */

const root = path.resolve(import.meta.dirname, '../..');

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startProcess(env: Record<string, string>): Running {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, LOG_LEVEL: 'info' };
  delete childEnv.DATABASE_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/hub/main.ts'], {
    cwd: root,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: the terminal's foreground job
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return { child, output: () => out, exited };
}

/** Log lines at error level or worse (pino: 50, 60), and anything printed that is not JSON. */
const errorsIn = (output: string) =>
  output
    .split('\n')
    .filter((l) => l.trim() !== '')
    .filter((l) => (l.startsWith('{') ? /"level":(50|60)/.test(l) : /error|HUB_ERR/i.test(l)));

async function storedCount(dataDir: string, port: string, deviceId: string): Promise<Set<number>> {
  const password = (await readFile(path.join(dataDir, 'pg-password'), 'utf8')).trim();
  const c = new pg.Client({
    connectionString: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
  });
  await c.connect();
  try {
    const r = await c.query<{ ms: string }>(
      `SELECT (extract(epoch FROM time) * 1000)::bigint AS ms FROM telemetry WHERE device_id = $1`,
      [deviceId],
    );
    return new Set(r.rows.map((x) => Number(x.ms)));
  } finally {
    await c.end();
  }
}

/** Publishes QoS 1 readings with distinct times until the connection goes; returns the acknowledged times. */
async function publishUntil(
  url: string,
  device: { id: string; secret: string },
  stop: (acked: ReadonlySet<number>) => boolean,
) {
  const client = await connectDevice(url, device);
  client.on('error', () => {});
  const acked = new Set<number>();
  const base = Date.now() - 3_600_000;
  let seq = 0;
  const inFlight = new Set<Promise<unknown>>();
  while (!stop(acked) && client.connected) {
    const ts = base + ++seq;
    const p = client
      .publishAsync(
        `devices/${device.id}/telemetry`,
        JSON.stringify({ ts, ...quietReading('gas', seq) }),
        { qos: 1 },
      )
      .then(
        () => acked.add(ts),
        () => {},
      );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => setTimeout(r, 5000))]);
  client.end(true);
  return acked;
}

describe('the hub process on Ctrl-C and kill -9', () => {
  const dirs: string[] = [];
  const running: Running[] = [];

  afterAll(async () => {
    for (const r of running) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    for (const dir of dirs) {
      // A server a killed hub left behind: stop it (fast shutdown) before removing its files.
      const pid = Number(
        (await readFile(path.join(dir, 'pg', 'postmaster.pid'), 'utf8').catch(() => '')).split(
          '\n',
        )[0],
      );
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGINT');
        } catch {
          /* gone */
        }
        await new Promise((r) => setTimeout(r, 2000));
      }
      await rm(dir, { recursive: true, force: true });
    }
  });

  async function setup(prefix: string) {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), prefix));
    dirs.push(dataDir);
    const env = {
      DATA_DIR: dataDir,
      MQTT_PORT: String(await freePort()),
      HTTP_PORT: String(await freePort()),
      EMBEDDED_PG_PORT: String(await freePort()),
      DEMO_DEVICE_COUNT: '7',
      // Far above a real device's rate: this is about the process, not the limit.
      MQTT_RATE_PER_S: '100000',
      MQTT_RATE_BURST: '100000',
    };
    const start = async () => {
      const r = startProcess(env);
      running.push(r);
      await waitFor(
        () => {
          if (r.child.exitCode !== null) throw new Error(`the hub exited: ${r.output()}`);
          return r.output().includes('is running') ? true : undefined;
        },
        'the hub to start',
        90_000,
      );
      return r;
    };
    const first = await start();
    const csv = await readFile(path.join(dataDir, 'demo-devices.csv'), 'utf8');
    const row = csv
      .split('\n')
      .slice(1)
      .map((l) => l.split(','))
      .find((f) => f[0]?.startsWith('GS-'))!;
    const device = { id: row[0]!, secret: row[6]! };
    return { env, dataDir, start, first, device, mqttUrl: `mqtt://127.0.0.1:${env.MQTT_PORT}` };
  }

  it(
    'stops on a Ctrl-C to its whole process group with no error in its log and every acknowledged reading stored',
    { timeout: 240_000 },
    async () => {
      const { env, dataDir, first, device, mqttUrl, start } = await setup('hub-ctrlc-');
      const publishing = publishUntil(mqttUrl, device, () => false);
      await new Promise((r) => setTimeout(r, 1500));
      // The terminal's Ctrl-C: SIGINT to the foreground process group; npm forwards it once more.
      process.kill(-first.child.pid!, 'SIGINT');
      process.kill(first.child.pid!, 'SIGINT');
      const acked = await publishing;
      expect(await first.exited).toBe(0);
      expect(errorsIn(first.output())).toEqual([]);
      expect(first.output()).toContain('embedded PostgreSQL stopped');
      expect(acked.size).toBeGreaterThan(0);

      const second = await start();
      const stored = await storedCount(dataDir, env.EMBEDDED_PG_PORT, device.id);
      expect([...acked].filter((t) => !stored.has(t))).toEqual([]);
      process.kill(-second.child.pid!, 'SIGINT');
      expect(await second.exited).toBe(0);
      expect(errorsIn(second.output())).toEqual([]);
    },
  );

  it(
    'after kill -9 starts again on the server it left behind, with the data intact',
    { timeout: 240_000 },
    async () => {
      const { env, dataDir, first, device, mqttUrl, start } = await setup('hub-kill9-');
      const acked = await publishUntil(mqttUrl, device, (a) => a.size >= 300);
      first.child.kill('SIGKILL');
      await first.exited;

      const second = await start();
      expect(second.output()).toContain('still running; stopping it cleanly');
      expect(second.output()).not.toContain('HUB_ERR_PORT_IN_USE');
      const stored = await storedCount(dataDir, env.EMBEDDED_PG_PORT, device.id);
      expect([...acked].filter((t) => !stored.has(t))).toEqual([]);
      expect(acked.size).toBeGreaterThan(0);
      process.kill(-second.child.pid!, 'SIGINT');
      expect(await second.exited).toBe(0);
    },
  );
});
