import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authed,
  connectDevice,
  quietReading,
  startTestHub,
  waitFor,
  type TestHub,
} from '../support/hub.js';

/**
 * Sustained publish-rate abuse (#6, #17) over real MQTT: a lamp that
 * publishes far over its token bucket is slowed (its excess held and
 * counted), raises the `all.mqtt_rate_abuse` warning (alarm only, no case)
 * after sustained excess, stays connected while under the hold bound, and
 * the alarm clears once its backlog is worked off. The window is 200 ms here
 * instead of a minute.
 *
 * The burst is bounded and the lamp stays connected: a held device's socket
 * is not read (backpressure), so the hub notices a disconnect only once it
 * has worked through what the device had already sent. An endless flood
 * followed by a disconnect made the clear wait for minutes of backlog.
 */
describe('the rate-abuse alarm', () => {
  let t: TestHub;
  let device: MqttClient | undefined;

  beforeAll(async () => {
    t = await startTestHub(
      { MQTT_RATE_PER_S: '5', MQTT_RATE_BURST: '1', CASE_TICK_INTERVAL_MS: '3600000' },
      'primary',
      { rateWindowMs: 200 },
    );
  });
  afterAll(async () => {
    device?.end(true);
    await t?.stop();
  });

  const alarm = async () =>
    (
      await t.hub.db.pool.query<{ id: number; state: string; severity: string }>(
        `SELECT id, state, severity FROM alarms WHERE rule_id = 'all.mqtt_rate_abuse' AND device_id = $1`,
        [t.devices.streetlight.id],
      )
    ).rows;

  it('raises a warning after a sustained excess, opens no case, and clears once its backlog is worked off', async () => {
    const res = await authed(t.adminToken)(`${t.httpUrl}/api/rules/all.mqtt_rate_abuse`, {
      method: 'PATCH',
      body: JSON.stringify({
        settings: { dropsPerMinute: 5, forMinutes: 2, clearAfterMinutes: 2 },
      }),
    });
    expect(res.status).toBe(200);

    const lamp = t.devices.streetlight;
    device = await connectDevice(t.mqttUrl, lamp);
    const topic = `devices/${lamp.id}/telemetry`;
    // 60 at once at 5 a second: about 12 s of backlog, over the limit in every 200 ms window.
    const burst = 60;
    const t0 = Date.now() - burst * 1000;
    for (let i = 0; i < burst; i++) {
      const reading = { ts: t0 + i * 1000, ...quietReading('streetlight', i) };
      device.publish(topic, JSON.stringify(reading), { qos: 1 });
    }
    await waitFor(async () => ((await alarm()).length > 0 ? true : undefined), 'the alarm', 60_000);
    await t.hub.alarms.settled();
    const [raised] = await alarm();
    expect(raised).toMatchObject({ state: 'open', severity: 'warning' });
    expect(device.connected).toBe(true);
    expect(t.hub.broker.counters.rateLimited).toBeGreaterThan(10);
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/hub_mqtt_rate_held_total [1-9]/);

    // Quiet: the backlog is released at the device's rate, then two windows without excess.
    await waitFor(
      async () => ((await alarm())[0]?.state === 'cleared' ? true : undefined),
      'the alarm clearing once the backlog is worked off',
      // About 12 s of backlog; the generous bound is for a loaded CI machine.
      90_000,
    );
    expect(device.connected).toBe(true);
    // Slowed, not dropped: every reading of the burst is stored.
    await waitFor(
      async () => {
        const { rows } = await t.hub.db.pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM telemetry WHERE device_id = $1 AND time >= $2`,
          [lamp.id, new Date(t0)],
        );
        return Number(rows[0]!.n) >= burst ? true : undefined;
      },
      'every reading of the burst stored',
      60_000,
    );
    await t.hub.cases.settled();
    const cases = await t.hub.db.pool.query(`SELECT id FROM cases WHERE alarm_id = $1`, [
      raised!.id,
    ]);
    expect(cases.rows).toEqual([]);
  }, 180_000);
});
