import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  DeviceReadings,
  DeviceStatusChange,
  DeviceStatusSnapshot,
} from '../../src/domain/index.js';
import {
  connectDevice,
  connectOperator,
  createUsers,
  lightingAreas,
  startTestHub,
  waitFor,
  type TestHub,
} from '../support/hub.js';

type Ack = { ok: true } | { ok: false; code: string; message: string };

/** Device status and watched readings over socket.io (issue #13, decision 0162). */
describe('live devices', () => {
  let t: TestHub;
  let crewToken = '';
  let otherAreaToken = '';

  beforeAll(async () => {
    t = await startTestHub({ STATUS_FLUSH_INTERVAL_MS: '200' });
    const { district, otherDistrict } = lightingAreas(t);
    const users = await createUsers(t.httpUrl, t.adminToken, [
      { username: 'crew-a', role: 'crew', crewId: `lighting-${district}` },
    ]);
    crewToken = users['crew-a']!.token;
    const res = await fetch(`${t.httpUrl}/api/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        username: 'op-other',
        role: 'operator',
        areaCode: otherDistrict,
        password: 'pw-op-other-long-enough',
      }),
    });
    expect(res.status).toBe(201);
    otherAreaToken = (
      (await (
        await fetch(`${t.httpUrl}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'op-other', password: 'pw-op-other-long-enough' }),
        })
      ).json()) as { token: string }
    ).token;
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('sends a compact snapshot, then batched online and offline flips that continue its version', async () => {
    const socket = connectOperator(t.httpUrl, t.adminToken);
    const snapshot = new Promise<DeviceStatusSnapshot>((r) => socket.once('devices:snapshot', r));
    const batches: { fromVersion: number; version: number; changes: DeviceStatusChange[] }[] = [];
    socket.on('devices:changed', (b) => batches.push(b));
    const ack = await socket.emitWithAck('devices:subscribe');
    expect(ack).toEqual({ ok: true });
    const snap = await snapshot;
    expect(snap.ids).toHaveLength(7);
    expect(snap.online).toHaveLength(7);
    const lamp = t.devices.streetlight.id;
    expect(snap.online[snap.ids.indexOf(lamp)]).toBe(0);

    const device = await connectDevice(t.mqttUrl, t.devices.streetlight);
    const up = await waitFor(
      () => batches.find((b) => b.changes.some((c) => c.deviceId === lamp && c.online)),
      'online',
    );
    device.end(true);
    const down = await waitFor(
      () => batches.find((b) => b.changes.some((c) => c.deviceId === lamp && !c.online)),
      'offline',
    );
    expect(Date.parse(up.changes[0]!.at)).not.toBeNaN();
    // Each batch continues where the previous one (or the snapshot) stopped.
    let version = snap.version;
    for (const b of batches) {
      expect(b.fromVersion).toBe(version);
      expect(b.version).toBeGreaterThan(b.fromVersion);
      version = b.version;
    }
    expect(down.version).toBe(version);

    // A screen that subscribes now sees the same list at the same version.
    const again = connectOperator(t.httpUrl, t.adminToken);
    const snap2 = new Promise<DeviceStatusSnapshot>((r) => again.once('devices:snapshot', r));
    await again.emitWithAck('devices:subscribe');
    const s2 = await snap2;
    expect(s2.version).toBe(version);
    expect(s2.online[s2.ids.indexOf(lamp)]).toBe(0);
    socket.close();
    again.close();
  });

  it('refuses device status to a crew', async () => {
    const socket = connectOperator(t.httpUrl, crewToken);
    const ack = (await socket.emitWithAck('devices:subscribe')) as Ack;
    expect(ack).toMatchObject({ ok: false, code: 'HUB_ERR_FORBIDDEN' });
    socket.close();
  });

  it('pushes the valid readings of a watched device, and stops after unwatch', async () => {
    const socket = connectOperator(t.httpUrl, t.adminToken);
    const got: DeviceReadings[] = [];
    socket.on('device:readings', (r) => got.push(r));
    const lamp = t.devices.streetlight.id;
    expect(await socket.emitWithAck('device:watch', lamp)).toEqual({ ok: true });
    const device: MqttClient = await connectDevice(t.mqttUrl, t.devices.streetlight);
    const publish = (payload: unknown) =>
      device.publishAsync(`devices/${lamp}/telemetry`, JSON.stringify(payload), { qos: 1 });
    // Out of range (a dead letter), then a good one: only the good one reaches the screen.
    await publish({ dim: 500 });
    await publish({ dim: 41, voltage: 229.5 });
    const batch = await waitFor(() => got.find((b) => b.readings.length > 0), 'readings');
    expect(batch.deviceId).toBe(lamp);
    expect(got.flatMap((b) => b.readings).map((r) => r.metrics)).toEqual([
      { dim: 41, voltage: 229.5 },
    ]);

    socket.emit('device:unwatch', lamp);
    // Watched again by a second socket, so the tap is known to run: the first one stays quiet.
    const other = connectOperator(t.httpUrl, t.adminToken);
    const otherGot: DeviceReadings[] = [];
    other.on('device:readings', (r) => otherGot.push(r));
    expect(await other.emitWithAck('device:watch', lamp)).toEqual({ ok: true });
    const before = got.length;
    await publish({ dim: 42 });
    await waitFor(
      () => otherGot.find((b) => b.readings.some((r) => r.metrics.dim === 42)),
      'other',
    );
    expect(got.length).toBe(before);
    device.end(true);
    socket.close();
    other.close();
  });

  it('refuses to watch an unknown device, a malformed id, or a device outside the area', async () => {
    const socket = connectOperator(t.httpUrl, t.adminToken);
    expect(await socket.emitWithAck('device:watch', 'NO-SUCH-1')).toMatchObject({
      ok: false,
      code: 'HUB_ERR_DEVICE_UNKNOWN',
    });
    expect(await socket.emitWithAck('device:watch', 'bad/id')).toMatchObject({
      ok: false,
      code: 'HUB_ERR_BAD_REQUEST',
    });
    socket.close();
    const outsider = connectOperator(t.httpUrl, otherAreaToken);
    expect(await outsider.emitWithAck('device:watch', t.devices.streetlight.id)).toMatchObject({
      ok: false,
      code: 'HUB_ERR_FORBIDDEN',
    });
    outsider.close();
  });
});
