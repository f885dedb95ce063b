import { connect, type ErrorWithReasonCode, type MqttClient } from 'mqtt';
import { deviceTopic } from '../domain/index.js';
import { answerCommand, type ActuatorState } from './commands.js';
import type { DeviceCredential } from './credentials.js';
import { sampleReading, seededRng, type DeviceState } from './generators.js';
import { getScenario, type Scenario, type ScenarioName } from './scenarios.js';

export interface FleetOptions {
  /** Broker URL, e.g. `mqtt://127.0.0.1:1883`. */
  readonly url: string;
  readonly devices: readonly DeviceCredential[];
  /**
   * Telemetry messages per second across the whole fleet, spread evenly over
   * all its devices in turn: each device publishes `ratePerSecond / devices`
   * a second once it is connected, nothing before (a device still connecting
   * lets its turn pass, it does not hand it to the connected ones).
   */
  readonly ratePerSecond: number;
  /**
   * The most one device may publish a second, its scenario cadence included:
   * the hub's default token bucket (MQTT_RATE_PER_S = 10). A fleet asking for
   * more is refused with a sentence saying so.
   */
  readonly maxDeviceRatePerS?: number;
  readonly scenario?: ScenarioName | Scenario;
  readonly qos?: 0 | 1;
  readonly seed?: number;
  /** Stop by itself after this many seconds. */
  readonly durationS?: number;
  /** Most devices in the middle of connecting at once, so a big fleet does not flood the broker. */
  readonly connectConcurrency?: number;
  readonly connectTimeoutMs?: number;
}

export interface FleetStats {
  /** Devices whose MQTT session is up now. */
  readonly connected: number;
  /** Telemetry messages handed to the clients (status messages not counted). */
  readonly published: number;
  /** Telemetry messages whose publish failed. */
  readonly failed: number;
  /** Telemetry messages the broker acknowledged (PUBACK; QoS 1 only). */
  readonly acked: number;
  /** Commands from the hub answered on `commands/ack`. */
  readonly commands: number;
}

export interface Fleet {
  /** Connects every device; rejects, with the fleet stopped, if any device cannot connect. */
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): FleetStats;
  /** Settles once the fleet has stopped, by stop() or after durationS. */
  readonly stopped: Promise<void>;
}

interface SimDevice {
  readonly cred: DeviceCredential;
  readonly rng: () => number;
  readonly state: DeviceState;
  readonly actuators: ActuatorState;
  client?: MqttClient;
  seq: number;
  /** Timestamp of its last reading: the next is at least 1 ms later (the hub keys readings by device and time). */
  lastTs: number;
  /** Set once the device's first session is up, so a reconnect does not backfill again. */
  started: boolean;
}

const online = JSON.stringify({ online: true });
const offline = JSON.stringify({ online: false });
const reconnectPeriodMs = 1000;

export function createFleet(options: FleetOptions): Fleet {
  const { url, devices, ratePerSecond } = options;
  const qos = options.qos ?? 1;
  const seed = options.seed ?? 1;
  const concurrency = Math.max(1, options.connectConcurrency ?? 50);
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const scenario =
    typeof options.scenario === 'object'
      ? options.scenario
      : getScenario(options.scenario ?? 'normal');
  if (devices.length === 0) throw new Error('A fleet needs at least one device.');
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) {
    throw new Error(
      `The rate must be a positive number of messages per second, not ${ratePerSecond}.`,
    );
  }

  const sims: SimDevice[] = devices.map((cred, i) => ({
    cred,
    rng: seededRng(seed * 100_003 + i),
    state: {},
    actuators: {},
    seq: 0,
    lastTs: Number.MIN_SAFE_INTEGER,
    started: false,
  }));
  const target = scenario.targetType
    ? sims.find((s) => s.cred.type === scenario.targetType)
    : undefined;
  const maxDeviceRate = options.maxDeviceRatePerS ?? 10;
  const perDevice =
    ratePerSecond / devices.length +
    (target && scenario.targetIntervalMs ? 1000 / scenario.targetIntervalMs : 0);
  if (perDevice > maxDeviceRate) {
    throw new Error(
      `${ratePerSecond} msg/s over ${devices.length} devices is ${Math.round(perDevice * 10) / 10} msg/s per device, over the hub's limit of ${maxDeviceRate} a device (MQTT_RATE_PER_S): use more devices or a lower rate, or raise the limit on both sides (MQTT_RATE_PER_S, --max-device-rate).`,
    );
  }
  const counts = { published: 0, failed: 0, acked: 0, commands: 0 };
  const timers: NodeJS.Timeout[] = [];
  let stopping = false;
  let resolveStopped: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));

  function publishReading(sim: SimDevice, tMs: number): void {
    const client = sim.client;
    if (!client?.connected) return;
    let reading = sampleReading(sim.cred.type, sim.rng, tMs, sim.state);
    if (sim === target && scenario.alter) reading = scenario.alter(reading, sim.rng);
    // Never two readings of one device at the same millisecond: the second would be a duplicate.
    const ts = (sim.lastTs = Math.max(tMs, sim.lastTs + 1));
    const payload = JSON.stringify({ ts, seq: sim.seq++, ...reading });
    counts.published++;
    client.publish(deviceTopic(sim.cred.id, 'telemetry'), payload, { qos }, (err) => {
      if (err) counts.failed++;
      else if (qos === 1) counts.acked++;
    });
  }

  /** Runs once per device on its first session: the scenario's backfill and cadence. */
  function onFirstSession(sim: SimDevice, startMs: number): void {
    if (sim !== target) return;
    const minute = 60_000;
    // Oldest first, as a device empties its buffer.
    for (let ago = scenario.backfillMs ?? 0; ago >= minute; ago -= minute) {
      publishReading(sim, startMs - ago);
    }
    publishReading(sim, Date.now());
    if (scenario.targetIntervalMs) {
      const interval = scenario.targetIntervalMs;
      timers.push(setInterval(() => publishReading(sim, Date.now()), interval).unref());
    }
  }

  function connectDevice(sim: SimDevice, startMs: number): Promise<void> {
    const { id, secret } = sim.cred;
    const statusTopic = deviceTopic(id, 'status');
    const client = connect(url, {
      clientId: id,
      username: id,
      password: secret,
      clean: true,
      protocolVersion: 4, // MQTT 3.1.1: what Aedes speaks
      connectTimeout: connectTimeoutMs,
      // No retry until the first session is up, so a wrong URL or secret fails start().
      reconnectPeriod: 0,
      will: { topic: statusTopic, payload: Buffer.from(offline), qos: 1, retain: true },
    });
    sim.client = client;
    // Without an 'error' listener an EventEmitter throws; later errors end in a reconnect.
    client.on('error', () => {});
    // Commands from the hub (#6): apply and acknowledge on commands/ack.
    client.on('message', (topic, payload) => {
      if (topic !== deviceTopic(id, 'commands')) return;
      const ack = answerCommand(sim.cred.type, payload, sim.actuators);
      if (!ack) return;
      counts.commands++;
      client.publish(deviceTopic(id, 'commands/ack'), JSON.stringify(ack), { qos: 1 });
    });
    client.on('connect', () => {
      client.publish(statusTopic, online, { qos: 1, retain: true });
      client.subscribe(deviceTopic(id, 'commands'), { qos: 1 });
      if (!sim.started) {
        sim.started = true;
        client.options.reconnectPeriod = reconnectPeriodMs;
        onFirstSession(sim, startMs);
      }
    });
    return new Promise((resolve, reject) => {
      const settle = (err?: Error) => {
        client.off('connect', onConnect);
        client.off('error', onError);
        client.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onConnect = () => settle();
      const onError = (err: Error) => settle(describeConnectError(err, id, url));
      const onClose = () =>
        settle(new Error(`Device ${id} got no answer from the MQTT broker at ${url} in time.`));
      client.on('connect', onConnect);
      client.on('error', onError);
      client.on('close', onClose);
    });
  }

  async function connectAll(startMs: number): Promise<Error[]> {
    const failures: Error[] = [];
    let next = 0;
    const worker = async () => {
      while (!stopping && next < sims.length) {
        const sim = sims[next++]!;
        await connectDevice(sim, startMs).catch((err: Error) => failures.push(err));
        // start() fails on the first refusal anyway; do not knock on a dead broker 10,000 times.
        if (failures.length > 0) return;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, sims.length) }, worker));
    return failures;
  }

  function startPublishing(): void {
    // Credit-based pacing: the timer may fire late, the rate stays right.
    const tickMs = Math.min(1000, Math.max(10, 1000 / ratePerSecond));
    let credit = 0;
    let last = Date.now();
    let cursor = 0;
    const tick = () => {
      const now = Date.now();
      // At most one second of backlog, so a stall does not end in a burst.
      credit = Math.min(credit + ((now - last) * ratePerSecond) / 1000, Math.max(1, ratePerSecond));
      last = now;
      // Every device in turn, connected or not: a device not up yet lets its turn pass,
      // so no device ever publishes more than its share (issue 17: the rate piled onto
      // the first devices to connect, over their rate limit, two readings a millisecond).
      for (; credit >= 1; credit -= 1) {
        const sim = sims[cursor]!;
        cursor = (cursor + 1) % sims.length;
        publishReading(sim, now);
      }
    };
    timers.push(setInterval(tick, tickMs).unref());
  }

  async function start(): Promise<void> {
    const startMs = Date.now();
    startPublishing();
    if (options.durationS !== undefined) {
      timers.push(setTimeout(() => void stop(), options.durationS * 1000).unref());
    }
    const failures = await connectAll(startMs);
    if (failures.length > 0 && !stopping) {
      await stop();
      // Every device of a fleet usually fails the same way: the first one says it all.
      throw failures[0]!;
    }
  }

  async function stop(): Promise<void> {
    if (stopping) return stopped;
    stopping = true;
    for (const t of timers) clearTimeout(t);
    await Promise.all(sims.map((sim) => (sim.client ? endClient(sim) : undefined)));
    resolveStopped();
  }

  function stats(): FleetStats {
    const connected = sims.reduce((n, s) => n + (s.client?.connected ? 1 : 0), 0);
    return { connected, ...counts };
  }

  return { start, stop, stats, stopped };
}

/** A device going offline on purpose says so; the last will is for a dropped connection. */
async function endClient(sim: SimDevice): Promise<void> {
  const client = sim.client!;
  client.options.reconnectPeriod = 0;
  if (client.connected) {
    await withTimeout(
      new Promise<void>((resolve) =>
        client.publish(deviceTopic(sim.cred.id, 'status'), offline, { qos: 1, retain: true }, () =>
          resolve(),
        ),
      ),
      2000,
    );
  }
  const graceful = client.connected && Object.keys(client.outgoing).length === 0;
  await withTimeout(new Promise<void>((resolve) => client.end(!graceful, () => resolve())), 2000);
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms).unref();
    void promise.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** One sentence a person can act on, for the failures a simulator user actually meets. */
function describeConnectError(err: Error, id: string, url: string): Error {
  const code = (err as ErrorWithReasonCode).code as number | string | undefined;
  if (code === 4 || code === 5 || code === 134 || code === 135) {
    return new Error(
      `The MQTT broker at ${url} refused device ${id}: wrong username or password (do the credentials match the hub's database?).`,
    );
  }
  if (code === 'ECONNREFUSED') {
    return new Error(
      `Cannot connect to the MQTT broker at ${url}: connection refused (is the hub running?).`,
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new Error(`Cannot connect to the MQTT broker at ${url}: unknown host.`);
  }
  return new Error(`Device ${id} could not connect to the MQTT broker at ${url}: ${err.message}.`);
}
