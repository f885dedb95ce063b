import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { io, type Socket } from 'socket.io-client';
import type { DemoCredential } from '../../src/db/index.js';
import type {
  ClientToServerEvents,
  FacilityType,
  ServerToClientEvents,
  SessionEndReason,
} from '../../src/domain/index.js';
import { loadConfig } from '../../src/hub/config.js';
import { startHub, startNode, type Hub, type HubNode, type HubOptions } from '../../src/hub/hub.js';
import { backends, createPrimaryDatabase, type TestDatabase } from './databases.js';

export interface TestHub {
  readonly hub: Hub;
  readonly database: TestDatabase;
  /** One demo device of each facility type, with its secret. */
  readonly devices: Record<FacilityType, DemoCredential>;
  readonly mqttUrl: string;
  readonly httpUrl: string;
  /** A session token of the first admin (its password is in DATA_DIR/admin-password). */
  readonly adminToken: string;
  stop(): Promise<void>;
}

/**
 * The real hub in-process on ephemeral ports against a fresh database, seeded
 * with a seven-device demo city: one device of each facility type.
 */
/** A valid reading that raises no default alarm, for load and fault tests. */
export function quietReading(type: FacilityType, i: number): Record<string, number> {
  const readings: Record<FacilityType, Record<string, number>> = {
    streetlight: { dim: i % 100 },
    manhole: { battery: i % 100 },
    pump_station: { well_level: (i % 200) / 100 },
    waterlogging: { rain_mm_h: i % 50 },
    gas: { temp: i % 40 },
    dust_noise: { humidity: i % 100 },
    elevator: { floor: i % 30 },
  };
  return readings[type];
}

export async function startTestHub(
  env: Record<string, string> = {},
  backend: 'primary' | 'timescaledb' | TestDatabase = 'primary',
  options: Omit<HubOptions, 'logger'> = {},
): Promise<TestHub> {
  const database =
    backend === 'primary'
      ? await createPrimaryDatabase()
      : backend === 'timescaledb'
        ? await backends()
            .find((b) => b.name === 'timescaledb')!
            .create()
        : backend;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hub-test-data-'));
  const config = loadConfig({
    DATABASE_URL: database.url,
    DATA_DIR: dataDir,
    MQTT_PORT: '0',
    HTTP_PORT: '0',
    DEMO_DEVICE_COUNT: '7',
    INGEST_FLUSH_INTERVAL_MS: '20',
    LOG_LEVEL: 'silent',
    // The in-process TimescaleDB serves one connection at a time.
    ...(backend === 'timescaledb' ? { DATABASE_POOL_MAX: '1' } : {}),
    ...env,
  });
  const hub = await startHub(config, {
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    ...options,
  });
  const httpUrl = `http://127.0.0.1:${hub.httpPort}`;
  const adminPassword = (await readFile(hub.adminPasswordFile, 'utf8')).trim();
  const devices = Object.fromEntries((hub.demoCredentials ?? []).map((c) => [c.type, c])) as Record<
    FacilityType,
    DemoCredential
  >;
  return {
    hub,
    database,
    devices,
    mqttUrl: `mqtt://127.0.0.1:${hub.mqttPort}`,
    httpUrl,
    adminToken: await login(httpUrl, 'admin', adminPassword),
    async stop() {
      await hub.stop();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Another hub node on the database of `first` (a cluster when `env` carries
 * REDIS_URL), with a data directory of its own; `stop` removes it.
 */
export function startOtherNode(
  first: TestHub,
  env: Record<string, string> = {},
  options: Omit<HubOptions, 'logger'> = {},
): Promise<{ hub: Hub; httpUrl: string; stop(): Promise<void> }> {
  return startNodeOn(first, startHub, env, options);
}

/** A process of one role (HUB_ROLE in `env`) on the database of `first`. */
export function startRoleNode(
  first: TestHub,
  env: Record<string, string>,
  options: Omit<HubOptions, 'logger'> = {},
): Promise<{ hub: HubNode; httpUrl: string; stop(): Promise<void> }> {
  return startNodeOn(first, startNode, env, options);
}

async function startNodeOn<T extends { httpPort: number; stop(): Promise<void> }>(
  first: TestHub,
  start: (config: ReturnType<typeof loadConfig>, options: HubOptions) => Promise<T>,
  env: Record<string, string>,
  options: Omit<HubOptions, 'logger'>,
): Promise<{ hub: T; httpUrl: string; stop(): Promise<void> }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hub-test-node-'));
  const hub = await start(
    loadConfig({
      DATABASE_URL: first.database.url,
      DATA_DIR: dataDir,
      MQTT_PORT: '0',
      HTTP_PORT: '0',
      INGEST_FLUSH_INTERVAL_MS: '20',
      LOG_LEVEL: 'silent',
      ...env,
    }),
    { logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), ...options },
  );
  return {
    hub,
    httpUrl: `http://127.0.0.1:${hub.httpPort}`,
    async stop() {
      await hub.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Connects as a device with its own credentials; rejects with the CONNACK error. */
export function connectDevice(
  url: string,
  device: { id: string; secret: string },
  options: mqtt.IClientOptions = {},
): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, {
      clientId: device.id,
      username: device.id,
      password: device.secret,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      ...options,
    });
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
}

/** Logs in through the REST API and returns the session token. */
export async function login(httpUrl: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${httpUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** Where the demo streetlight stands, from the device API: reports are made beside it. */
export async function streetlightPlace(t: TestHub): Promise<{ lat: number; lon: number }> {
  const res = await authed(t.adminToken)(`${t.httpUrl}/api/devices/${t.devices.streetlight.id}`);
  if (res.status !== 200) throw new Error(`streetlight: ${res.status} ${await res.text()}`);
  const { lat, lon } = (await res.json()) as { lat: number; lon: number };
  return { lat, lon };
}

/** The streetlight's grid and district, and the demo city's other district. */
export function lightingAreas(t: TestHub): {
  grid: string;
  district: string;
  otherDistrict: string;
} {
  const grid = t.devices.streetlight.gridCode;
  const district = grid.slice(0, 6);
  return { grid, district, otherDistrict: district === '430302' ? '430304' : '430302' };
}

/** The password `createUsers` gives a test user. */
export const testPassword = (username: string) => `pw-${username}-long-enough`;

/** Creates users through the admin API and logs each in: id and session token by username. */
export async function createUsers(
  httpUrl: string,
  adminToken: string,
  users: readonly { username: string; role: string; crewId?: string; areaCode?: string }[],
): Promise<Record<string, { id: number; token: string }>> {
  const out: Record<string, { id: number; token: string }> = {};
  for (const u of users) {
    const res = await authed(adminToken)(`${httpUrl}/api/users`, {
      method: 'POST',
      body: JSON.stringify({ ...u, password: testPassword(u.username) }),
    });
    if (res.status !== 201)
      throw new Error(`user ${u.username}: ${res.status} ${await res.text()}`);
    const { id } = (await res.json()) as { id: number };
    out[u.username] = { id, token: await login(httpUrl, u.username, testPassword(u.username)) };
  }
  return out;
}

/** An authenticated socket.io client; `sinceVersion` resumes after that version. */
export function connectOperator(
  httpUrl: string,
  token: string,
  auth: { sinceVersion?: number } = {},
): Socket<ServerToClientEvents, ClientToServerEvents> {
  return io(httpUrl, {
    transports: ['websocket'],
    reconnection: false,
    auth: { token, ...auth },
  });
}

/**
 * A control room's live connection once it has its snapshot: why its session
 * ended (`session:ended`) and why it was closed.
 */
export async function connectLive(httpUrl: string, token: string) {
  const socket = connectOperator(httpUrl, token);
  const ended = new Promise<SessionEndReason>((resolve) =>
    socket.once('session:ended', ({ reason }) => resolve(reason)),
  );
  const closed = new Promise<string>((resolve) => socket.once('disconnect', resolve));
  await new Promise((resolve) => socket.once('cases:snapshot', resolve));
  return { socket, ended, closed };
}

/** fetch with the session token. */
export function authed(token: string) {
  return (url: string, init: RequestInit = {}) =>
    fetch(url, {
      ...init,
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.body && typeof init.body === 'string'
          ? { 'content-type': 'application/json' }
          : {}),
        ...(init.headers as Record<string, string> | undefined),
      },
    });
}

/** Polls until `probe` returns a value that is not undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
