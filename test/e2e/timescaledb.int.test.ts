import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectDevice,
  connectOperator,
  startTestHub,
  waitFor,
  type TestHub,
} from '../support/hub.js';

/** The same path on TimescaleDB 2.23 (in-process PGlite build, over the wire to `pg`). */
describe('the hub on TimescaleDB', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({}, 'timescaledb');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('detects TimescaleDB, writes readings into the telemetry hypertable and registers a case', async () => {
    expect(t.hub.db.capabilities).toMatchObject({ kind: 'timescaledb', telemetryHypertable: true });
    const operator = connectOperator(t.httpUrl, t.adminToken);
    const created = new Promise((resolve) => operator.on('case:changed', resolve));

    const w = t.devices.waterlogging;
    const client = await connectDevice(t.mqttUrl, w);
    await client.publishAsync(
      `devices/${w.id}/telemetry`,
      JSON.stringify({ depth: 31, rain_mm_h: 40 }),
      { qos: 1 },
    );
    client.end(true);

    expect(await created).toMatchObject({
      reason: 'created',
      case: { deviceId: w.id, severity: 'major' },
    });
    const chunks = await waitFor(async () => {
      const r = await t.hub.db.pool.query(
        `SELECT count(*)::int AS n FROM timescaledb_information.chunks WHERE hypertable_name = 'telemetry'`,
      );
      return r.rows[0].n > 0 ? r.rows[0].n : undefined;
    }, 'a telemetry chunk');
    expect(chunks).toBeGreaterThan(0);
    operator.close();
  });
});
