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
 * Sustained publish-rate abuse (#6, #17) over real MQTT: a lamp that keeps
 * publishing far over its token bucket is slowed (its excess held and
 * counted), raises the `all.mqtt_rate_abuse` warning (alarm only, no case)
 * after sustained excess, stays connected while under the hold bound, and
 * the alarm clears once it is quiet. The window is 200 ms here instead of a
 * minute.
 */
describe('the rate-abuse alarm', () => {
  let t: TestHub;
  let device: MqttClient | undefined;

  beforeAll(async () => {
    t = await startTestHub(
      { MQTT_RATE_PER_S: '1', MQTT_RATE_BURST: '1', CASE_TICK_INTERVAL_MS: '3600000' },
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

  it('raises a warning after a sustained excess, opens no case, and clears when the device goes quiet', async () => {
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
    let i = 0;
    const flood = setInterval(() => {
      for (let n = 0; n < 20; n++)
        device!.publish(topic, JSON.stringify(quietReading('streetlight', i++)));
    }, 20);
    try {
      await waitFor(
        async () => ((await alarm()).length > 0 ? true : undefined),
        'the alarm',
        60_000,
      );
    } finally {
      clearInterval(flood);
    }
    await t.hub.alarms.settled();
    const [raised] = await alarm();
    expect(raised).toMatchObject({ state: 'open', severity: 'warning' });
    expect(device.connected).toBe(true);
    expect(t.hub.broker.counters.rateLimited).toBeGreaterThan(10);
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/hub_mqtt_rate_held_total [1-9]/);
    // Quiet: the lamp goes away with what it still had queued (QoS 0, never acknowledged).
    device.end(true);

    await waitFor(
      async () => ((await alarm())[0]?.state === 'cleared' ? true : undefined),
      'the alarm clearing once the lamp is quiet',
      // Two quiet windows of 200 ms; the generous bound is for a loaded CI machine.
      60_000,
    );
    await t.hub.cases.settled();
    const cases = await t.hub.db.pool.query(`SELECT id FROM cases WHERE alarm_id = $1`, [
      raised!.id,
    ]);
    expect(cases.rows).toEqual([]);
  }, 180_000);
});
