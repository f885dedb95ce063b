import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { authed, connectDevice, login, waitFor } from '../support/hub.js';

const root = path.resolve(import.meta.dirname, '../..');

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** The hub as `npm start` runs it: its own process, no DATABASE_URL. */
function startProcess(env: Record<string, string>): Running {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, LOG_LEVEL: 'warn' };
  delete childEnv.DATABASE_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/hub/main.ts'], {
    cwd: root,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return { child, output: () => out, exited };
}

/** Stops (fast shutdown) an embedded server a killed hub left running under `dir`. */
async function stopLeftover(dir: string): Promise<void> {
  const pidFile = await readFile(path.join(dir, 'pg', 'postmaster.pid'), 'utf8').catch(() => '');
  const pid = Number(pidFile.split('\n')[0]);
  if (!(pid > 0)) return;
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return; // gone already
  }
  for (let i = 0; i < 100 && existsSync(path.join(dir, 'pg', 'postmaster.pid')); i++)
    await new Promise((r) => setTimeout(r, 100));
}

describe('npm start on the embedded default database', () => {
  let dataDir = '';
  const running: Running[] = [];

  afterAll(async () => {
    for (const r of running) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    if (dataDir) {
      // `npm start` runs its database in a process group of its own: a hub killed here leaves it.
      await stopLeftover(dataDir);
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('starts PostgreSQL under DATA_DIR, serves a device, stops cleanly on SIGTERM and keeps the data', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'hub-start-'));
    const env = {
      DATA_DIR: dataDir,
      MQTT_PORT: String(await freePort()),
      HTTP_PORT: String(await freePort()),
      EMBEDDED_PG_PORT: String(await freePort()),
      DEMO_DEVICE_COUNT: '21',
    };
    const first = startProcess(env);
    running.push(first);
    await waitFor(
      () => (first.output().includes('is running') ? true : undefined),
      'the hub to start',
      60_000,
    );
    expect(first.output()).toContain('postgresql (embedded');
    expect(first.output()).toContain('admin-password (created now)');
    const adminPasswordFile = path.join(dataDir, 'admin-password');
    expect((await stat(adminPasswordFile)).mode & 0o777).toBe(0o600);
    const password = (await readFile(adminPasswordFile, 'utf8')).trim();
    const base = `http://127.0.0.1:${env.HTTP_PORT}`;
    const get = authed(await login(base, 'admin', password));

    const csv = await readFile(path.join(dataDir, 'demo-devices.csv'), 'utf8');
    const [id, , , , , , secret] = csv.split('\n')[1]!.split(',');
    const client = await connectDevice(`mqtt://127.0.0.1:${env.MQTT_PORT}`, {
      id: id!,
      secret: secret!,
    });
    await client.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ on: true, dim: 100 }), {
      qos: 1,
    });
    client.end(true);
    const api = `http://127.0.0.1:${env.HTTP_PORT}/api/telemetry/${id}`;
    await waitFor(async () => {
      const body = (await (await get(api)).json()) as { readings: unknown[] };
      return body.readings.length === 1 ? true : undefined;
    }, 'the reading through the API');

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);

    // Same DATA_DIR again: no second demo city, the reading is still there.
    const second = startProcess(env);
    running.push(second);
    await waitFor(
      () => (second.output().includes('is running') ? true : undefined),
      'the restart',
      60_000,
    );
    expect(second.output()).toContain('Devices       21;');
    expect(second.output()).not.toContain('(created now)');
    // Sessions live in the database: the token from before the restart still works.
    const body = (await (await get(api)).json()) as { readings: { data: unknown }[] };
    expect(body.readings.map((r) => r.data)).toEqual([{ on: true, dim: 100 }]);
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });

  it('exits with a message naming MQTT_PORT when the MQTT port is taken', async () => {
    const net = await import('node:net');
    const blocker = net.createServer();
    const port = await freePort();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hub-port-'));
    try {
      const r = startProcess({
        DATA_DIR: dir,
        MQTT_PORT: String(port),
        HTTP_PORT: String(await freePort()),
        EMBEDDED_PG_PORT: String(await freePort()),
        DEMO_CITY: 'false',
      });
      running.push(r);
      expect(await r.exited).toBe(1);
      expect(r.output()).toContain('HUB_ERR_PORT_IN_USE');
      expect(r.output()).toContain('set MQTT_PORT');
      expect(existsSync(path.join(dir, 'pg', 'postmaster.pid'))).toBe(false);
    } finally {
      blocker.close();
      await stopLeftover(dir);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('exits with one line per bad variable when the configuration is wrong', async () => {
    const r = startProcess({ MQTT_PORT: '70000', LOG_LEVEL: 'loud', HTTP_PORT: 'eighty' });
    running.push(r);
    expect(await r.exited).toBe(1);
    expect(r.output()).toContain('HUB_ERR_CONFIG');
    expect(r.output()).toContain('MQTT_PORT must be <= 65535 (got "70000")');
    expect(r.output()).toContain('HTTP_PORT must be integer (got "eighty")');
  });
});
