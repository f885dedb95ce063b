import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseRecord } from '../../src/domain/index.js';
import {
  authed,
  connectDevice,
  connectOperator,
  startTestHub,
  waitFor,
  type TestHub,
} from '../support/hub.js';

/**
 * The walking skeleton end to end: a device publishes over real MQTT, the
 * reading lands in PostgreSQL, a reading over threshold held past the rule's
 * duration registers a case, and an operator's socket.io client receives it.
 */
describe('one message from a device to an operator', () => {
  let t: TestHub;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    t = await startTestHub();
  });
  afterAll(async () => {
    for (const c of clients) c.end(true);
    await t?.stop();
  });

  const rows = async (sql: string, params: unknown[] = []) =>
    (await t.hub.db.pool.query(sql, params)).rows;

  it('stores a reading a device publishes with its own credentials', async () => {
    const gas = t.devices.gas;
    const client = await connectDevice(t.mqttUrl, gas);
    clients.push(client);
    await client.publishAsync(
      `devices/${gas.id}/telemetry`,
      JSON.stringify({ pressure: 3.01, ch4: 1.2 }),
      {
        qos: 1,
      },
    );
    const stored = await waitFor(async () => {
      const r = await rows('SELECT data FROM telemetry WHERE device_id = $1', [gas.id]);
      return r.length > 0 ? r : undefined;
    }, 'the reading in the telemetry table');
    expect(stored[0].data).toEqual({ pressure: 3.01, ch4: 1.2 });

    const res = await authed(t.adminToken)(`${t.httpUrl}/api/telemetry/${gas.id}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { readings: { data: unknown }[] };
    expect(body.readings.map((r) => r.data)).toEqual([{ pressure: 3.01, ch4: 1.2 }]);
  });

  it('registers a case when a reading stays over threshold past the duration, and pushes it to operators', async () => {
    const operator = connectOperator(t.httpUrl, t.adminToken);
    const snapshot = await new Promise<{ version: number; cases: CaseRecord[] }>((resolve) =>
      operator.once('cases:snapshot', resolve),
    );
    expect(snapshot.cases).toEqual([]);
    // The demo routing table dispatches the new case at once: created, then dispatched.
    const changes: { reason: string; case: CaseRecord }[] = [];
    operator.on('case:changed', (c) => changes.push(c));

    const dust = t.devices.dust_noise;
    const client = await connectDevice(t.mqttUrl, dust);
    clients.push(client);
    const now = Date.now();
    // 16 minutes over 200 µg/m³, uploaded as one batch: the default rule holds 15 min.
    const backlog = Array.from({ length: 17 }, (_, i) => ({
      ts: now - (16 - i) * 60_000,
      pm10: 240 + i,
    }));
    await client.publishAsync(`devices/${dust.id}/telemetry`, JSON.stringify(backlog), { qos: 1 });

    const created = await waitFor(
      () => changes.find((c) => c.reason === 'created'),
      'case:changed',
    );
    expect(created.case).toMatchObject({
      state: 'registered',
      kind: 'event',
      severity: 'major',
      deviceId: dust.id,
      facilityType: 'dust_noise',
      gridCode: dust.gridCode,
    });
    expect(created.case.version).toBeGreaterThan(snapshot.version);
    expect(created.case.code).toMatch(/^AJ-\d{8}-\d{6}$/);

    const [alarm] = await rows(
      `SELECT rule_id, state, first_reading_at, threshold, last_value FROM alarms`,
    );
    expect(alarm).toMatchObject({ rule_id: 'dust_noise.pm10', state: 'open', threshold: 200 });
    expect(new Date(alarm.first_reading_at).getTime()).toBe(now - 16 * 60_000);

    // Back under the clear level: the alarm clears and the case is marked recovered.
    await client.publishAsync(`devices/${dust.id}/telemetry`, JSON.stringify({ pm10: 90 }), {
      qos: 1,
    });
    const recovered = await waitFor(
      () => changes.find((c) => c.reason === 'recovered'),
      'recovery',
    );
    expect(recovered.case.id).toBe(created.case.id);
    expect(recovered.case.recoveredAt).not.toBeNull();
    expect(recovered.case.version).toBeGreaterThan(created.case.version);
    operator.close();
  });

  it('opens one alarm, not two, when over-threshold readings keep coming', async () => {
    const manhole = t.devices.manhole;
    const client = await connectDevice(t.mqttUrl, manhole);
    clients.push(client);
    // Distinct timestamps: readings of the same millisecond are one row (primary key).
    const t0 = Date.now() - 3000;
    for (const [i, tilt] of [45, 60, 80].entries()) {
      await client.publishAsync(
        `devices/${manhole.id}/events`,
        JSON.stringify({ tilt, open: true, ts: t0 + i * 1000 }),
        { qos: 1 },
      );
    }
    await waitFor(async () => {
      const r = await rows(`SELECT 1 FROM telemetry WHERE device_id = $1`, [manhole.id]);
      return r.length === 3 ? true : undefined;
    }, 'three manhole readings');
    await t.hub.alarms.settled();
    // Case changes run one at a time after the alarm: wait for the ones already queued.
    await t.hub.cases.settled();
    const alarms = await rows(`SELECT state FROM alarms WHERE device_id = $1`, [manhole.id]);
    expect(alarms).toEqual([{ state: 'open' }]);
    const cases = await rows(`SELECT state, severity FROM cases WHERE device_id = $1`, [
      manhole.id,
    ]);
    // Registered, then dispatched at once by the demo routing table (docs/cases.md).
    expect(cases).toEqual([{ state: 'dispatched', severity: 'critical' }]);
  });
});

describe('what the hub refuses', () => {
  let t: TestHub;

  beforeAll(async () => {
    t = await startTestHub();
  });
  afterAll(async () => {
    await t?.stop();
  });

  const rows = async (sql: string, params: unknown[] = []) =>
    (await t.hub.db.pool.query(sql, params)).rows;

  it('refuses a wrong password and an unknown device at CONNECT', async () => {
    const lamp = t.devices.streetlight;
    await expect(
      connectDevice(t.mqttUrl, { id: lamp.id, secret: 'not-the-secret' }),
    ).rejects.toMatchObject({
      code: 4,
    });
    await expect(
      connectDevice(t.mqttUrl, { id: 'SL-99999', secret: lamp.secret }),
    ).rejects.toMatchObject({
      code: 4,
    });
    expect(t.hub.broker.counters.authFailures).toBeGreaterThanOrEqual(2);
  });

  it('disconnects a device that publishes to another device topic and stores nothing for either', async () => {
    const lamp = t.devices.streetlight;
    const victim = t.devices.waterlogging;
    const client = await connectDevice(t.mqttUrl, lamp);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish(`devices/${victim.id}/telemetry`, JSON.stringify({ depth: 99 }), { qos: 1 });
    await closed;
    client.end(true);
    await t.hub.ingest.drain();
    expect(
      await rows(`SELECT 1 FROM telemetry WHERE device_id IN ($1, $2)`, [lamp.id, victim.id]),
    ).toEqual([]);
    expect(t.hub.broker.counters.aclDenials).toBeGreaterThanOrEqual(1);
  });

  it('refuses a subscription to another device commands or to a wildcard', async () => {
    const lamp = t.devices.streetlight;
    const client = await connectDevice(t.mqttUrl, lamp);
    const own = await client.subscribeAsync(`devices/${lamp.id}/commands`);
    expect(own.map((g) => g.qos)).toEqual([0]);
    for (const topic of [`devices/${t.devices.gas.id}/commands`, 'devices/#', '$SYS/#']) {
      // SUBACK return code 0x80 (failure) [MQTT-3.9.3]; mqtt.js rejects with the packet.
      const refused = await client.subscribeAsync(topic).then(
        () => null,
        (err: { packet?: { granted?: number[] } }) => err.packet?.granted,
      );
      expect(refused, topic).toEqual([128]);
    }
    client.end(true);
  });

  it('dead-letters malformed JSON and out-of-range values with their reason and keeps the good readings', async () => {
    const pump = t.devices.pump_station;
    const client = await connectDevice(t.mqttUrl, pump);
    const topic = `devices/${pump.id}/telemetry`;
    await client.publishAsync(topic, '{"well_level": 1.2', { qos: 1 });
    await client.publishAsync(topic, JSON.stringify({ well_level: 900 }), { qos: 1 });
    await client.publishAsync(topic, JSON.stringify({ well_level: 1.4, colour: 'blue' }), {
      qos: 1,
    });
    await client.publishAsync(topic, JSON.stringify([{ well_level: 1.5 }, { well_level: -3 }]), {
      qos: 1,
    });
    client.end(true);
    await t.hub.ingest.drain();

    const letters = await rows(
      `SELECT code, reason, payload FROM dead_letters WHERE device_id = $1 ORDER BY id`,
      [pump.id],
    );
    expect(letters.map((l) => l.code)).toEqual([
      'HUB_ERR_PAYLOAD_JSON',
      'HUB_ERR_PAYLOAD_RANGE',
      'HUB_ERR_PAYLOAD_UNKNOWN_METRIC',
      'HUB_ERR_PAYLOAD_RANGE',
    ]);
    expect(letters[0].payload).toBe('{"well_level": 1.2');
    expect(letters[1].reason).toBe('well_level must be <= 50');
    expect(letters[3].reason).toContain('(reading 1)');
    const stored = await rows(`SELECT data FROM telemetry WHERE device_id = $1`, [pump.id]);
    expect(stored).toEqual([{ data: { well_level: 1.5 } }]);

    const api = (await (
      await authed(t.adminToken)(`${t.httpUrl}/api/dead-letters?deviceId=${pump.id}`)
    ).json()) as {
      deadLetters: unknown[];
    };
    expect(api.deadLetters).toHaveLength(4);
    expect(t.hub.ingest.counters.byCode.HUB_ERR_PAYLOAD_RANGE).toBe(2);
  });

  it('answers bad API input with a stable error code, not a stack trace', async () => {
    const get = authed(t.adminToken);
    const unknown = await get(`${t.httpUrl}/api/telemetry/NOPE-1`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 'HUB_ERR_DEVICE_UNKNOWN' });
    const bad = await get(`${t.httpUrl}/api/telemetry/${t.devices.gas.id}?from=yesterday`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'HUB_ERR_BAD_REQUEST' });
    const badQuery = await get(`${t.httpUrl}/api/cases?state=lost`);
    expect(badQuery.status).toBe(400);
    const health = (await (await fetch(`${t.httpUrl}/api/health`)).json()) as { status: string };
    expect(health.status).toBe('ok');
    const anonymous = await fetch(`${t.httpUrl}/api/telemetry/${t.devices.gas.id}`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ code: 'HUB_ERR_UNAUTHENTICATED' });
  });
});

describe('readings without a timestamp', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('keeps every reading of a device even when several arrive in the same millisecond', async () => {
    const manhole = t.devices.manhole;
    const client = await connectDevice(t.mqttUrl, manhole);
    const sent = 50;
    for (let i = 0; i < sent; i++)
      client.publish(`devices/${manhole.id}/events`, JSON.stringify({ tilt: 1, battery: i }), {
        qos: 1,
      });
    await client.publishAsync(
      `devices/${manhole.id}/telemetry`,
      JSON.stringify([{ battery: 90 }, { battery: 91 }]),
      { qos: 1 },
    );
    client.end();
    await t.hub.ingest.drain();
    const { rows } = await t.hub.db.pool.query(
      `SELECT count(*)::int AS n FROM telemetry WHERE device_id = $1`,
      [manhole.id],
    );
    expect(rows[0].n).toBe(sent + 2);
    expect(t.hub.ingest.writer.counters.duplicates).toBe(0);
  });
});
