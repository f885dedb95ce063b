import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseRecord, FacilityType } from '../../src/domain/index.js';
import { playScript, scenarioScripts } from '../../src/simulators/index.js';
import {
  connectDevice,
  connectOperator,
  startTestHub,
  waitFor,
  type TestHub,
} from '../support/hub.js';

/**
 * Scripted scenarios end to end: a script's readings published over MQTT by
 * the device itself (as a buffered upload with `ts`), the rules engine in the
 * real hub, cases pushed to an operator over socket.io.
 */
describe('scripted scenarios over MQTT', () => {
  let t: TestHub;
  let client: MqttClient | null = null;
  beforeAll(async () => {
    t = await startTestHub();
  });
  afterAll(async () => {
    client?.end(true);
    await t?.stop();
  });

  /** The script's readings of the hub's demo device of `type`, uploaded as one buffer ending a minute ago. */
  async function upload(name: string, type: FacilityType): Promise<void> {
    const device = t.devices[type];
    const readings = playScript(scenarioScripts[name]!, [
      { id: device.id, type, gridCode: device.gridCode },
    ]);
    const shift = Date.now() - 60_000 - readings.at(-1)!.timeMs;
    const payload = readings.map((r) => ({ ts: r.timeMs + shift, ...r.metrics }));
    client?.end(true);
    client = await connectDevice(t.mqttUrl, device);
    await client.publishAsync(`devices/${device.id}/telemetry`, JSON.stringify(payload), {
      qos: 1,
    });
  }

  it('registers one case for the ponding and one for the rising water, and marks both recovered', async () => {
    const wl = t.devices.waterlogging;
    const operator = connectOperator(t.httpUrl, t.adminToken);
    const changes: { reason: string; case: CaseRecord }[] = [];
    operator.on('case:changed', (c) => changes.push(c));
    await new Promise((resolve) => operator.once('cases:snapshot', resolve));

    await upload('rainstorm', 'waterlogging');

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

  it('an elevator’s over-speed, overrun and stop outside the door zone: critical alarms, each stored once and cleared', async () => {
    const ev = t.devices.elevator;
    await upload('elevator-faults', 'elevator');
    const alarms = await waitFor(async () => {
      const { rows } = await t.hub.db.pool.query<{
        rule_id: string;
        state: string;
        severity: string;
      }>(`SELECT rule_id, state, severity FROM alarms WHERE source = $1 ORDER BY id`, [ev.id]);
      return rows.length === 5 && rows.every((r) => r.state === 'cleared') ? rows : undefined;
    }, 'five elevator alarms cleared');
    expect(alarms.map((a) => [a.rule_id, a.severity])).toEqual([
      ['elevator.overspeed', 'critical'],
      ['elevator.overrun', 'critical'],
      ['elevator.stop_outside_door_zone', 'critical'],
      ['elevator.door_fault', 'major'],
      ['elevator.vibration', 'major'],
    ]);
  });
});
