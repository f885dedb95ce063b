/**
 * The whole hub as a child process for the benches that measure it end to end
 * (bench/ingest.ts, bench/burst.ts): `src/hub/main.ts` on free ports with a
 * demo city, its device credentials, and a connection string to its database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { FacilityType } from '../src/domain/index.js';

const root = path.resolve(import.meta.dirname, '..');

export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

export interface HubProcess {
  readonly child: ChildProcess;
  readonly mqttPort: number;
  readonly httpPort: number;
  /** The demo city's devices, as `demo-devices.csv` lists them. */
  readonly devices: { id: string; type: FacilityType; secret: string }[];
  /** Where the bench reads the hub's rows: its DATABASE_URL, else the embedded server. */
  databaseUrl(): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the hub with `env` (over the bench's own) and waits until it is running. */
export async function startHubProcess(
  env: { DATABASE_URL: string; DATA_DIR: string } & Record<string, string>,
  nodeArgs: readonly string[] = [],
): Promise<HubProcess> {
  const mqttPort = await freePort();
  const httpPort = await freePort();
  const pgPort = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/hub/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      MQTT_PORT: String(mqttPort),
      HTTP_PORT: String(httpPort),
      EMBEDDED_PG_PORT: String(pgPort),
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  while (!out.includes('is running')) {
    if (child.exitCode !== null) throw new Error('hub exited: ' + out);
    await new Promise((r) => setTimeout(r, 100));
  }
  const devices = (await readFile(path.join(env.DATA_DIR, 'demo-devices.csv'), 'utf8'))
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','))
    .map((f) => ({ id: f[0]!, type: f[1]! as FacilityType, secret: f[6]! }));
  return {
    child,
    mqttPort,
    httpPort,
    devices,
    databaseUrl: async () =>
      env.DATABASE_URL ||
      (await readFile(path.join(env.DATA_DIR, 'pg-password'), 'utf8').then(
        (pw) => `postgres://postgres:${encodeURIComponent(pw.trim())}@127.0.0.1:${pgPort}/postgres`,
      )),
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((x) => child.once('exit', x));
    },
  };
}
