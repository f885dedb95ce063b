import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseRecord } from '../../src/domain/index.js';
import { playScript, scenarioScripts } from '../../src/simulators/index.js';
import {
  connectDevice,
  connectOperator,
  startTestHub,
  waitFor,
  type TestHub,
} from '../support/hub.js';

/**
 * A scripted scenario end to end: the rainstorm's readings published over
 * MQTT by the waterlogging point itself (as a buffered upload with `ts`), the
 * rules engine in the real hub, cases pushed to an operator over socket.io.
 */
describe('a rainstorm over MQTT', () => {
  let t: TestHub;
  let client: MqttClient | null = null;
  beforeAll(async () => {
    t = await startTestHub();
  });
  afterAll(async () => {
    client?.end(true);
    await t?.stop();
  });

  it('registers one case for the ponding and one for the rising water, and marks both recovered', async () => {
    const wl = t.devices.waterlogging;
    const operator = connectOperator(t.httpUrl, t.adminToken);
    const changes: { reason: string; case: CaseRecord }[] = [];
    operator.on('case:changed', (c) => changes.push(c));
    await new Promise((resolve) => operator.once('cases:snapshot', resolve));

    const script = scenarioScripts.rainstorm!;
    const readings = playScript(script, [
      { id: wl.id, type: 'waterlogging', gridCode: wl.gridCode },
    ]);
    // Shift the script so it ends a minute ago: the device uploads its buffer after a storm.
    const shift = Date.now() - 60_000 - readings.at(-1)!.timeMs;
    const payload = readings.map((r) => ({ ts: r.timeMs + shift, ...r.metrics }));
    client = await connectDevice(t.mqttUrl, wl);
    await client.publishAsync(`devices/${wl.id}/telemetry`, JSON.stringify(payload), { qos: 1 });

    await waitFor(
      () => (changes.filter((c) => c.reason === 'recovered').length === 2 ? true : undefined),
      'both cases recovered',
    );
    const created = changes.filter((c) => c.reason === 'created');
    expect(created).toHaveLength(2);
    expect(created.every((c) => c.case.deviceId === wl.id && c.case.kind === 'event')).toBe(true);

    const alarms = (
      await t.hub.db.pool.query(
        `SELECT rule_id, state, severity, peak_value, count FROM alarms WHERE source = $1 ORDER BY id`,
        [wl.id],
      )
    ).rows;
    expect(alarms.map((a) => [a.rule_id, a.state])).toEqual([
      ['waterlogging.rising', 'cleared'],
      ['waterlogging.depth', 'cleared'],
    ]);
    expect(alarms[1].peak_value).toBe(45);
    operator.close();
  });
});
