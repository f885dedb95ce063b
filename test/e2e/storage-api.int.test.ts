import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshAreaRollups } from '../../src/db/index.js';
import { authed, connectDevice, startTestHub, type TestHub } from '../support/hub.js';

describe('the telemetry query API and dead-letter replay', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub();
  });
  afterAll(async () => {
    await t?.stop();
  });

  const get = async (path: string) => {
    const res = await authed(t.adminToken)(t.httpUrl + path);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('serves bucketed series per device and per district, and the latest values', async () => {
    const w = t.devices.waterlogging;
    const client = await connectDevice(t.mqttUrl, w);
    const base = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
    const readings = [0, 10, 20, 30].map((m, i) => ({ ts: base + m * 60_000, depth: 4 * (i + 1) }));
    await client.publishAsync(`devices/${w.id}/telemetry`, JSON.stringify(readings), { qos: 1 });
    client.end(true);
    await t.hub.ingest.drain();

    const from = new Date(base).toISOString();
    const to = new Date(base + 3_600_000).toISOString();
    const perDevice = await get(
      `/api/telemetry?deviceId=${w.id}&metric=depth&bucket=15m&from=${from}&to=${to}`,
    );
    expect(perDevice.status).toBe(200);
    expect(
      (perDevice.body.series as { avg: number; n: number }[]).map((r) => [r.n, r.avg]),
    ).toEqual([
      [2, 6],
      [1, 12],
      [1, 16],
    ]);
    const district = w.gridCode.slice(0, 6);
    const area = await get(
      `/api/telemetry?grid=${district}&type=waterlogging&bucket=1h&from=${from}&to=${to}`,
    );
    expect(area.body.series).toEqual([
      expect.objectContaining({ deviceId: null, metric: 'depth', n: 4, min: 4, max: 16, avg: 10 }),
    ]);
    // The same series once the hour is in the area rollup (the leader's hourly refresh, run now).
    await refreshAreaRollups(t.hub.db.pool, Date.now());
    const rolled = await get(
      `/api/telemetry?grid=${district}&type=waterlogging&bucket=1h&from=${from}&to=${to}`,
    );
    expect(rolled.body).toEqual(area.body);
    const latest = await get(`/api/latest?type=waterlogging`);
    expect(latest.body.latest).toEqual([
      { deviceId: w.id, time: new Date(base + 30 * 60_000).toISOString(), data: { depth: 16 } },
    ]);

    expect((await get(`/api/telemetry?bucket=1h`)).status).toBe(400);
    expect((await get(`/api/telemetry?deviceId=${w.id}&bucket=7m`)).status).toBe(400);
  });

  it('replays dead letters once the device configuration is fixed, and only once', async () => {
    const device = t.devices.manhole;
    const client = await connectDevice(t.mqttUrl, device);
    const topic = `devices/${device.id}/telemetry`;
    // A pump-station payload from a device registered as a manhole: refused as an unknown metric.
    await client.publishAsync(topic, JSON.stringify({ ts: Date.now() - 5000, well_level: 1.7 }), {
      qos: 1,
    });
    await client.publishAsync(topic, '{"well_level": ', { qos: 1 });
    client.end(true);
    await t.hub.ingest.drain();
    const letters = (await get(`/api/dead-letters?deviceId=${device.id}&replayed=false`)).body
      .deadLetters as {
      id: number;
      code: string;
    }[];
    expect(letters.map((l) => l.code).sort()).toEqual([
      'HUB_ERR_PAYLOAD_JSON',
      'HUB_ERR_PAYLOAD_UNKNOWN_METRIC',
    ]);

    // The operator corrects the device's facility type (the registry's job; done directly here).
    await t.hub.db.pool.query(`UPDATE devices SET type = 'pump_station' WHERE id = $1`, [
      device.id,
    ]);
    t.hub.directory.set(device.id, { ...t.hub.directory.get(device.id)!, type: 'pump_station' });

    const replay = async (ids: number[]) => {
      const res = await authed(t.adminToken)(`${t.httpUrl}/api/dead-letters/replay`, {
        method: 'POST',
        body: JSON.stringify({ ids }),
      });
      return (await res.json()) as { outcomes: { id: number; status: string }[] };
    };
    const ids = letters.map((l) => l.id).sort((a, b) => a - b);
    const first = await replay(ids);
    const byCode = Object.fromEntries(
      letters.map((l) => [l.code, first.outcomes.find((o) => o.id === l.id)!.status]),
    );
    expect(byCode).toEqual({
      HUB_ERR_PAYLOAD_UNKNOWN_METRIC: 'replayed',
      HUB_ERR_PAYLOAD_JSON: 'rejected',
    });
    const stored = await t.hub.db.pool.query(`SELECT data FROM telemetry WHERE device_id = $1`, [
      device.id,
    ]);
    expect(stored.rows).toEqual([{ data: { well_level: 1.7 } }]);

    const refused = await fetch(`${t.httpUrl}/api/dead-letters/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ids }),
    });
    expect(refused.status).toBe(401);

    const again = await replay(ids);
    expect(again.outcomes.map((o) => o.status)).toEqual(['not_replayable', 'rejected']);
    const after = await get(`/api/dead-letters?deviceId=${device.id}&replayed=true`);
    expect(after.body.deadLetters).toHaveLength(1);
  });
});
