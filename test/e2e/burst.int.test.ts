import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectDevice,
  quietReading,
  startTestHub,
  waitFor,
  type TestHub,
} from '../support/hub.js';

/**
 * Issue 17: a sensor back from a network outage empties its buffer at once.
 * Over its rate it is slowed (its publishes wait for tokens, its socket is not
 * read meanwhile), not acknowledged and discarded: every acknowledged reading
 * is stored. A rate of 100/s keeps the test short; the default 10/s holds the
 * same 2,000 readings for about 3 minutes, well under MQTT_RATE_HOLD_MAX_S.
 * A 2 s keepalive makes each held socket read (hundreds of publishes, seconds
 * at this rate) outlast the broker's keepalive timeout, as a read held for
 * minutes at 10/s outlasts mqtt.js' default 60 s.
 */
describe('a device emptying its buffer over its rate', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ MQTT_RATE_PER_S: '100', MQTT_RATE_BURST: '100' });
  });
  afterAll(async () => t?.stop());

  const storedTimes = async (deviceId: string) =>
    new Set(
      (
        await t.hub.db.pool.query<{ ms: string }>(
          `SELECT (extract(epoch FROM time) * 1000)::bigint AS ms FROM telemetry WHERE device_id = $1`,
          [deviceId],
        )
      ).rows.map((r) => Number(r.ms)),
    );

  it('stores every one of 2,000 QoS 1 readings published at once, slowing the device instead of dropping', async () => {
    const device = t.devices.gas;
    const client = await connectDevice(t.mqttUrl, device, { keepalive: 2 });
    const base = Date.now() - 86_400_000;
    const acked = await Promise.all(
      Array.from({ length: 2000 }, (_, i) =>
        client
          .publishAsync(
            `devices/${device.id}/telemetry`,
            JSON.stringify({ ts: base + i * 1000, ...quietReading('gas', i) }),
            { qos: 1 },
          )
          .then(() => base + i * 1000),
      ),
    );
    expect(client.connected).toBe(true);
    client.end(true);
    const stored = await storedTimes(device.id);
    expect(acked.filter((ts) => !stored.has(ts))).toEqual([]);
    expect(stored.size).toBe(2000);
    // Most of them waited for a token; none was dropped.
    expect(t.hub.broker.counters.rateLimited).toBeGreaterThan(1000);
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    expect(metrics).not.toMatch(/hub_mqtt_drops_total\{reason="rate_limited"\} [1-9]/);
    expect(metrics).toMatch(/hub_mqtt_rate_held_total [1-9]/);
  });

  it('holds QoS 0 readings the same way: none of a 500-reading burst is discarded', async () => {
    const device = t.devices.dust_noise;
    const client = await connectDevice(t.mqttUrl, device);
    const base = Date.now() - 2 * 86_400_000;
    for (let i = 0; i < 500; i++)
      client.publish(
        `devices/${device.id}/telemetry`,
        JSON.stringify({ ts: base + i * 1000, ...quietReading('dust_noise', i) }),
        { qos: 0 },
      );
    await waitFor(
      async () => ((await storedTimes(device.id)).size === 500 ? true : undefined),
      'all 500 QoS 0 readings stored',
      60_000,
    );
    client.end(true);
  });
});
