/**
 * Load-generator worker for bench/ingest.ts (run as a child process so the
 * generator does not share the bench's event loop). Publishes QoS 1 at a fixed
 * offered rate round-robin over its devices, timing publish → PUBACK.
 *
 * Raw MQTT 3.1.1 over net sockets (mqtt-packet to encode and parse, one
 * write per device per tick): mqtt.js cost the generators about a quarter of
 * a core each at 15,000 msgs/s, CPU the hub and PostgreSQL share on this
 * 2-core machine.
 */
import net from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { connectPacket } from './mqtt-raw.js';

interface Job {
  url: string;
  devices: { id: string; secret: string; type: string }[];
  ratePerS: number;
  seconds: number;
  baseMs: number;
  /** Mosquitto baseline: anonymous, own topic prefix. */
  topicPrefix?: string;
}

const payloadFor: Record<string, (i: number) => string> = {
  streetlight: (i) =>
    `"on":true,"dim":${i % 100},"voltage":221.5,"current":0.45,"power":98.5,"leakage":2.1`,
  manhole: (i) => `"tilt":1.2,"open":false,"battery":${i % 100}`,
  pump_station: (i) => `"well_level":${(i % 200) / 100},"power_ok":true,"pump_1_running":true`,
  waterlogging: (i) => `"depth":0,"rain_mm_h":${i % 50}`,
  gas: (i) => `"pressure":3.02,"ch4":1.1,"temp":${i % 40}`,
  dust_noise: (i) => `"pm10":${40 + (i % 60)},"pm25":31,"noise":63.2,"humidity":61`,
  elevator: (i) => `"floor":${i % 30},"door_open":false,"moving":true,"people":true`,
};

/** One device's connection: publishes queued per tick, PUBACKs matched by message id. */
interface Device {
  readonly socket: net.Socket;
  readonly topic: string;
  readonly type: string;
  /** Message id → publish time. */
  readonly sentAt: Map<number, number>;
  nextId: number;
  queued: Buffer[];
}

function connectDevice(
  url: URL,
  d: Job['devices'][number],
  topicPrefix: string | undefined,
  onAck: (device: Device, messageId: number) => void,
): Promise<Device> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port) });
    socket.setNoDelay(true);
    const device: Device = {
      socket,
      topic: topicPrefix ? `${topicPrefix}/${d.id}` : `devices/${d.id}/telemetry`,
      type: d.type,
      sentAt: new Map(),
      nextId: 1,
      queued: [],
    };
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p: Packet) => {
      if (p.cmd === 'puback') onAck(device, p.messageId!);
      else if (p.cmd === 'connack') {
        if (p.returnCode === 0) resolve(device);
        else reject(new Error(`${d.id}: CONNACK ${p.returnCode}`));
      }
    });
    socket.on('data', (b: Buffer) => parser.parse(b));
    socket.once('error', reject);
    const clientId = topicPrefix ? `${topicPrefix}-${d.id}` : d.id;
    // The Mosquitto baseline connects anonymously.
    socket.write(topicPrefix ? connectPacket(clientId) : connectPacket(clientId, d.id, d.secret));
  });
}

async function run(job: Job) {
  const url = new URL(job.url);
  const latencies = new Float64Array(Math.ceil(job.ratePerS * job.seconds * 1.1) + 1000);
  let sent = 0;
  let acked = 0;
  let skipped = 0;
  const onAck = (device: Device, messageId: number) => {
    const t0 = device.sentAt.get(messageId);
    if (t0 === undefined) return;
    device.sentAt.delete(messageId);
    if (acked < latencies.length) latencies[acked] = performance.now() - t0;
    acked++;
  };
  const devices: Device[] = [];
  for (let i = 0; i < job.devices.length; i += 50) {
    const slice = job.devices.slice(i, i + 50);
    devices.push(
      ...(await Promise.all(slice.map((d) => connectDevice(url, d, job.topicPrefix, onAck)))),
    );
  }
  let failed = 0;
  for (const d of devices) d.socket.on('close', () => (failed += d.sentAt.size));
  let seq = 0;
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  const stopAt = started + job.seconds * 1000;
  const maxInFlight = Math.max(2000, job.ratePerS / 2);
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const now = performance.now();
      if (now >= stopAt) {
        clearInterval(tick);
        return resolve();
      }
      // Catch-up pacing: publish whatever is due by now, so a late timer does not lower the rate.
      const due = Math.floor(((now - started) / 1000) * job.ratePerS) - sent - skipped;
      for (let i = 0; i < due; i++) {
        if (sent - acked > maxInFlight) {
          skipped++;
          continue;
        }
        const n = seq++;
        const d = devices[n % devices.length]!;
        const ts = job.baseMs + Math.floor(n / devices.length);
        const messageId = d.nextId;
        d.nextId = messageId === 65535 ? 1 : messageId + 1;
        d.sentAt.set(messageId, now);
        d.queued.push(
          mqttPacket.generate({
            cmd: 'publish',
            topic: d.topic,
            payload: `{"ts":${ts},${payloadFor[d.type]!(n)}}`,
            qos: 1,
            messageId,
            retain: false,
            dup: false,
          }),
        );
        sent++;
      }
      for (const d of devices) {
        if (d.queued.length === 0) continue;
        d.socket.write(d.queued.length === 1 ? d.queued[0]! : Buffer.concat(d.queued));
        d.queued = [];
      }
    }, 10);
  });
  const publishSeconds = (performance.now() - started) / 1000;
  const deadline = performance.now() + 30_000;
  while (acked + failed < sent && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  for (const d of devices) d.socket.destroy();
  const sample = Array.from(latencies.subarray(0, Math.min(acked, latencies.length)));
  const cpu = process.cpuUsage(cpuStart);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return { sent, acked, failed, skipped, publishSeconds, cpuS, latencies: sample };
}

process.once('message', (job: Job) => {
  run(job).then(
    (result) => process.send!(result, () => process.exit(0)),
    (err: Error) => process.send!({ error: err.message }, () => process.exit(1)),
  );
});
