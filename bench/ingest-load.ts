/**
 * Load-generator worker for bench/ingest.ts (run as a child process so the
 * generator does not share the bench's event loop). Publishes QoS 1 at a fixed
 * offered rate round-robin over its devices, timing publish → PUBACK.
 */
import mqtt, { type MqttClient } from 'mqtt';

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

async function run(job: Job) {
  const clients: MqttClient[] = [];
  for (let i = 0; i < job.devices.length; i += 50) {
    const slice = job.devices.slice(i, i + 50);
    const connected = await Promise.all(
      slice.map(
        (d) =>
          new Promise<MqttClient>((resolve, reject) => {
            const c = mqtt.connect(job.url, {
              clientId: job.topicPrefix ? `${job.topicPrefix}-${d.id}` : d.id,
              ...(job.topicPrefix ? {} : { username: d.id, password: d.secret }),
              protocolVersion: 4,
              reconnectPeriod: 0,
              clean: true,
            });
            c.once('connect', () => resolve(c));
            c.once('error', reject);
          }),
      ),
    );
    clients.push(...connected);
  }
  const latencies = new Float64Array(Math.ceil(job.ratePerS * job.seconds * 1.1) + 1000);
  let sent = 0;
  let acked = 0;
  let failed = 0;
  let skipped = 0;
  let seq = 0;
  const started = performance.now();
  const stopAt = started + job.seconds * 1000;
  const maxInFlight = Math.max(2000, job.ratePerS / 2);
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      if (performance.now() >= stopAt) {
        clearInterval(tick);
        return resolve();
      }
      // Catch-up pacing: publish whatever is due by now, so a late timer does not lower the rate.
      const due =
        Math.floor(((performance.now() - started) / 1000) * job.ratePerS) - sent - skipped;
      for (let i = 0; i < due; i++) {
        if (sent - acked - failed > maxInFlight) {
          skipped++;
          continue;
        }
        const n = seq++;
        const k = n % clients.length;
        const d = job.devices[k]!;
        const ts = job.baseMs + Math.floor(n / clients.length);
        const topic = job.topicPrefix ? `${job.topicPrefix}/${d.id}` : `devices/${d.id}/telemetry`;
        const t0 = performance.now();
        sent++;
        clients[k]!.publish(topic, `{"ts":${ts},${payloadFor[d.type]!(n)}}`, { qos: 1 }, (err) => {
          if (err) failed++;
          else if (acked < latencies.length) latencies[acked++] = performance.now() - t0;
          else acked++;
        });
      }
    }, 10);
  });
  const publishSeconds = (performance.now() - started) / 1000;
  const deadline = performance.now() + 30_000;
  while (acked + failed < sent && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  for (const c of clients) c.end(true);
  const sample = Array.from(latencies.subarray(0, Math.min(acked, latencies.length)));
  return { sent, acked, failed, skipped, publishSeconds, latencies: sample };
}

process.once('message', (job: Job) => {
  run(job).then(
    (result) => process.send!(result, () => process.exit(0)),
    (err: Error) => process.send!({ error: err.message }, () => process.exit(1)),
  );
});
