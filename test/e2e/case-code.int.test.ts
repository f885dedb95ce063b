import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseDetail } from '../../src/domain/index.js';
import { authed, connectDevice, startTestHub, waitFor, type TestHub } from '../support/hub.js';

/**
 * The case code carries the city's date from the hub's clock, for alarm and
 * hotline cases alike (issue #12: the alarm path used the database's clock).
 */
describe('case codes', () => {
  let t: TestHub;
  // 2030-01-01 16:30 UTC is already 2 January in Xiangtan.
  const clock = new Date('2030-01-01T16:30:00Z');
  beforeAll(async () => {
    t = await startTestHub({ CASE_TICK_INTERVAL_MS: '3600000' }, 'primary', { now: () => clock });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('dates the code of an alarm case and of a hotline case by the injected clock in the city time zone', async () => {
    const device = await connectDevice(t.mqttUrl, t.devices.manhole);
    await device.publishAsync(
      `devices/${t.devices.manhole.id}/telemetry`,
      JSON.stringify({ open: true }),
      { qos: 1 },
    );
    const fromAlarm = await waitFor(async () => {
      const res = await authed(t.adminToken)(`${t.httpUrl}/api/cases?limit=10`);
      const { cases } = (await res.json()) as { cases: CaseDetail[] };
      return cases.find((c) => c.deviceId === t.devices.manhole.id);
    }, 'the alarm case');
    device.end(true);
    expect(fromAlarm.code).toMatch(/^AJ-20300102-\d{6}$/);

    const res = await authed(t.adminToken)(`${t.httpUrl}/api/cases`, {
      method: 'POST',
      body: JSON.stringify({ source: 'hotline', severity: 'minor', title: '热线 code' }),
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as CaseDetail).code).toMatch(/^AJ-20300102-\d{6}$/);
  });
});
