import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { Aedes } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  facilityTypes,
  generateDemoCity,
  generateSecret,
  parseDeviceTopic,
  readingSchemas,
  type FacilityType,
} from '../domain/index.js';
import {
  createFleet,
  getScenario,
  pickDevices,
  playScript,
  readCredentials,
  sampleReading,
  scenarioNames,
  scenarioScripts,
  scenarios,
  seededRng,
  streetlightSchedule,
  type DeviceCredential,
  type DeviceState,
  type Fleet,
} from './index.js';

const ajv = new Ajv({ strict: true });
(addFormats as unknown as (a: Ajv) => void)(ajv);
const validators = Object.fromEntries(
  facilityTypes.map((t) => [t, ajv.compile(readingSchemas[t])]),
) as Record<FacilityType, ValidateFunction>;

function expectValid(type: FacilityType, reading: unknown): void {
  const validate = validators[type];
  expect(validate(reading), `${type}: ${ajv.errorsText(validate.errors)}`).toBe(true);
}

describe('telemetry generators', () => {
  it('produce readings every facility type schema accepts, for many seeds and times', () => {
    for (const type of facilityTypes) {
      for (let seed = 1; seed <= 30; seed++) {
        const rng = seededRng(seed);
        const state: DeviceState = {};
        // Two days in 37-minute steps crosses dusk, dawn and the day/night noise limits.
        for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2026, 0, 3); t += 37 * 60_000) {
          expectValid(type, { ts: t, ...sampleReading(type, rng, t, state) });
        }
      }
    }
  });

  it('keep scenario readings inside the schemas too', () => {
    for (const name of scenarioNames) {
      const { targetType, alter } = scenarios[name];
      if (!targetType || !alter) continue;
      const rng = seededRng(7);
      expectValid(targetType, alter(sampleReading(targetType, rng, Date.now()), rng));
    }
  });

  it('keep every scripted scenario’s readings inside the schemas (cabinet, cut-off and fault-code fields included)', () => {
    const fleet = generateDemoCity({ deviceCount: 300 }).devices.map((d) => ({
      id: d.id,
      type: d.type,
      gridCode: d.gridCode,
    }));
    const types = new Map(fleet.map((d) => [d.id, d.type]));
    for (const script of Object.values(scenarioScripts)) {
      const targets = new Set(script.targets(fleet).map((d) => d.id));
      for (const r of playScript(script, fleet))
        if (targets.has(r.deviceId))
          expectValid(types.get(r.deviceId)!, { ts: r.timeMs, ...r.metrics });
    }
  });

  it('light streetlights from dusk to dawn in the city’s time zone (UTC+8)', () => {
    expect(streetlightSchedule(Date.UTC(2026, 5, 1, 12, 0))).toEqual({ on: true, dim: 100 }); // 20:00
    expect(streetlightSchedule(Date.UTC(2026, 5, 1, 18, 0))).toEqual({ on: true, dim: 50 }); // 02:00
    expect(streetlightSchedule(Date.UTC(2026, 5, 1, 4, 0)).on).toBe(false); // 12:00
    const lit = sampleReading('streetlight', seededRng(1), Date.UTC(2026, 5, 1, 12, 0));
    expect(lit.current).toBeGreaterThan(0.4);
  });

  it('is reproducible from its seed', () => {
    const t = Date.UTC(2026, 0, 1, 3);
    expect(sampleReading('dust_noise', seededRng(42), t)).toEqual(
      sampleReading('dust_noise', seededRng(42), t),
    );
  });
});

describe('credentials file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sim-creds-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('names the missing file and tells how to create it', async () => {
    const file = path.join(dir, 'absent.csv');
    await expect(readCredentials(file)).rejects.toThrow(/absent\.csv.*npm start/);
  });

  it('names the line of a malformed device', async () => {
    const file = path.join(dir, 'bad.csv');
    await writeFile(
      file,
      'id,type,grid_code,name,lat,lon,secret\nGS-00001,gas,430302001001001,燃气 1,27.8,112.9,s\nXX-1,rocket,1,x,0,0,s\n',
    );
    await expect(readCredentials(file)).rejects.toThrow(/bad\.csv:3: unknown facility type/);
  });
});

interface Message {
  readonly deviceId: string;
  readonly kind: string;
  readonly payload: Record<string, unknown>;
}

describe('a device fleet against a real Aedes broker', () => {
  const city = generateDemoCity({ deviceCount: 60, seed: 7 });
  const secrets = new Map(city.devices.map((d) => [d.id, generateSecret()]));
  const observer = { username: 'test-observer', password: generateSecret() };
  let broker: Aedes;
  let server: net.Server;
  let url: string;
  let dir: string;
  let credentials: DeviceCredential[];
  let subscriber: MqttClient;
  const telemetry: Message[] = [];
  /** When each device's retained "online" status reached the subscriber. */
  const onlineAt = new Map<string, number>();
  const fleets: Fleet[] = [];
  /** A slow broker: each CONNECT of a device waits this long (a fleet connecting over seconds). */
  let connectDelayMs = 0;

  beforeAll(async () => {
    broker = await Aedes.createBroker({
      authenticate: (_client, username, password, done) => {
        const expected =
          username === observer.username ? observer.password : secrets.get(username ?? '');
        const ok = expected !== undefined && password?.toString() === expected;
        if (connectDelayMs > 0 && username !== observer.username)
          setTimeout(() => done(null, ok), connectDelayMs);
        else done(null, ok);
      },
    });
    server = net.createServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;

    dir = await mkdtemp(path.join(os.tmpdir(), 'sim-fleet-'));
    const file = path.join(dir, 'demo-devices.csv');
    const lines = city.devices.map((d) =>
      [d.id, d.type, d.gridCode, d.name, d.lat, d.lon, secrets.get(d.id)].join(','),
    );
    await writeFile(file, ['id,type,grid_code,name,lat,lon,secret', ...lines].join('\n') + '\n');
    credentials = await readCredentials(file);

    subscriber = await connectAsync(url, { ...observer, protocolVersion: 4 });
    subscriber.on('message', (topic, payload) => {
      const parsed = parseDeviceTopic(topic);
      if (parsed?.kind === 'status') {
        if ((JSON.parse(payload.toString()) as { online?: boolean }).online)
          onlineAt.set(parsed.deviceId, telemetry.length);
        return;
      }
      if (parsed?.kind !== 'telemetry') return;
      telemetry.push({ ...parsed, payload: JSON.parse(payload.toString()) });
    });
    await subscriber.subscribeAsync(['devices/+/telemetry', 'devices/+/status'], { qos: 1 });
  });

  afterAll(async () => {
    await Promise.all(fleets.map((f) => f.stop()));
    await subscriber?.endAsync();
    await new Promise<void>((resolve) => broker?.close(() => resolve()));
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  const typeOf = (id: string) => credentials.find((c) => c.id === id)!.type;

  it('publishes valid telemetry from every device and a gas leak of at least 20 %LEL', async () => {
    const devices = pickDevices(credentials, 5, getScenario('gas-leak'));
    const gasDevice = devices.find((d) => d.type === 'gas');
    expect(devices).toHaveLength(5);
    expect(gasDevice).toBeDefined();
    const fleet = createFleet({ url, devices, ratePerSecond: 20, scenario: 'gas-leak', seed: 3 });
    fleets.push(fleet);
    await fleet.start();

    const ids = devices.map((d) => d.id);
    const mine = () => telemetry.filter((m) => ids.includes(m.deviceId));
    await vi.waitFor(
      () => {
        expect(new Set(mine().map((m) => m.deviceId))).toEqual(new Set(ids));
        expect(mine().some((m) => m.deviceId === gasDevice!.id)).toBe(true);
      },
      { timeout: 15_000, interval: 100 },
    );
    for (const m of mine()) expectValid(typeOf(m.deviceId), m.payload);
    const gasReadings = mine().filter((m) => m.deviceId === gasDevice!.id);
    expect(gasReadings.every((m) => (m.payload.ch4 as number) >= 20)).toBe(true);

    const status = await retainedStatus(url, observer, ids.length);
    for (const id of ids) expect(status.get(id)).toEqual({ online: true });
    expect(fleet.stats().connected).toBe(5);

    await fleet.stop();
    const after = await retainedStatus(url, observer, ids.length);
    expect(after.get(gasDevice!.id)).toEqual({ online: false });
  });

  it('backfills a dust spike with readings reaching at least 15 minutes into the past', async () => {
    const devices = pickDevices(credentials, 3, getScenario('dust-spike'));
    const dustDevice = devices.find((d) => d.type === 'dust_noise')!;
    const startMs = Date.now();
    const fleet = createFleet({ url, devices, ratePerSecond: 5, scenario: 'dust-spike', qos: 1 });
    fleets.push(fleet);
    await fleet.start();

    const fromDust = () => telemetry.filter((m) => m.deviceId === dustDevice.id);
    const backfilled = () => fromDust().filter((m) => (m.payload.ts as number) < startMs);
    await vi.waitFor(() => expect(backfilled().length).toBeGreaterThanOrEqual(16), {
      timeout: 15_000,
      interval: 100,
    });
    const times = backfilled().map((m) => m.payload.ts as number);
    expect(Math.min(...times)).toBeLessThanOrEqual(startMs - 15 * 60_000);
    for (const m of fromDust()) {
      expectValid('dust_noise', m.payload);
      expect(m.payload.pm10).toBeGreaterThan(200);
    }
    await fleet.stop();
  });

  it('spreads the fleet rate over all its devices while they connect: none over its share, none before it is online, no timestamp twice', async () => {
    const devices = credentials.slice(20, 60);
    const ids = new Set(devices.map((d) => d.id));
    connectDelayMs = 40; // 40 devices one at a time: connecting takes ~2 s
    const fleet = createFleet({
      url,
      devices,
      ratePerSecond: 80, // 2 a second per device
      connectConcurrency: 1,
    });
    fleets.push(fleet);
    const startMs = Date.now();
    const from = telemetry.length; // earlier tests' fleets used some of these devices
    try {
      await fleet.start();
    } finally {
      connectDelayMs = 0;
    }
    await new Promise((r) => setTimeout(r, 1000));
    await fleet.stop();
    const elapsedS = (Date.now() - startMs) / 1000;
    const mine = telemetry
      .map((m, i) => ({ ...m, i }))
      .filter((m) => m.i >= from && ids.has(m.deviceId));
    const perDevice = new Map<string, number>();
    for (const m of mine) perDevice.set(m.deviceId, (perDevice.get(m.deviceId) ?? 0) + 1);
    // Its share: 2 a second since the fleet started, and one for the timer's rounding.
    expect(Math.max(...perDevice.values())).toBeLessThanOrEqual(Math.ceil(2 * elapsedS) + 1);
    // Each device's first reading comes after its "online" status: nothing before its session.
    for (const m of mine) expect(onlineAt.get(m.deviceId)).toBeLessThanOrEqual(m.i);
    const keys = mine.map((m) => `${m.deviceId}@${m.payload.ts as number}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("refuses a rate over the hub's per-device limit with one sentence", () => {
    expect(() =>
      createFleet({ url, devices: credentials.slice(0, 2), ratePerSecond: 100 }),
    ).toThrow(/50 msg\/s per device, over the hub's limit of 10 a device \(MQTT_RATE_PER_S\)/);
    expect(() =>
      createFleet({
        url,
        devices: credentials.slice(0, 2),
        ratePerSecond: 100,
        maxDeviceRatePerS: 60,
      }),
    ).not.toThrow();
  });

  it('fails to start with one clear sentence when the broker refuses a secret', async () => {
    const [first] = credentials;
    const fleet = createFleet({
      url,
      devices: [{ ...first!, secret: 'not-the-secret' }],
      ratePerSecond: 1,
    });
    await expect(fleet.start()).rejects.toThrow(/refused device .*wrong username or password/);
  });

  it('fails to start with one clear sentence when nothing listens on the port', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const fleet = createFleet({
      url: `mqtt://127.0.0.1:${port}`,
      devices: credentials.slice(0, 3),
      ratePerSecond: 1,
    });
    await expect(fleet.start()).rejects.toThrow(/connection refused/);
  });
});

/** The retained status of devices, as a newly subscribing control room sees it. */
async function retainedStatus(
  url: string,
  auth: { username: string; password: string },
  atLeast: number,
): Promise<Map<string, unknown>> {
  const client = await connectAsync(url, { ...auth, protocolVersion: 4 });
  const status = new Map<string, unknown>();
  client.on('message', (topic, payload, packet) => {
    const parsed = parseDeviceTopic(topic);
    if (parsed && packet.retain) status.set(parsed.deviceId, JSON.parse(payload.toString()));
  });
  await client.subscribeAsync('devices/+/status', { qos: 1 });
  try {
    await vi.waitFor(() => expect(status.size).toBeGreaterThanOrEqual(atLeast), {
      timeout: 5_000,
    });
  } finally {
    await client.endAsync();
  }
  return status;
}
