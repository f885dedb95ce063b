import type { MqttClient } from 'mqtt';
import type { Socket } from 'socket.io-client';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AlarmChange,
  AlarmRecord,
  AlarmSnapshot,
  ClientToServerEvents,
  ServerToClientEvents,
} from '../../src/domain/index.js';
import {
  authed,
  connectDevice,
  login,
  startTestHub,
  testPassword,
  waitFor,
  type TestHub,
} from '../support/hub.js';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A control room screen: its snapshot, and every alarm change after it. */
function screen(t: TestHub, token: string, alarmsSinceVersion?: number) {
  const socket: Client = io(t.httpUrl, {
    transports: ['websocket'],
    reconnection: false,
    auth: { token, ...(alarmsSinceVersion !== undefined ? { alarmsSinceVersion } : {}) },
  });
  const changes: AlarmChange[] = [];
  let snapshot: AlarmSnapshot | null = null;
  socket.on('alarm:changed', (c) => changes.push(c));
  socket.on('alarms:snapshot', (s) => (snapshot = s));
  return {
    socket,
    changes,
    snapshot: () => snapshot,
    ready: () =>
      new Promise<void>((resolve) => {
        if (snapshot) return resolve();
        socket.once('alarms:snapshot', () => resolve());
      }),
    seen: (change: AlarmChange['change'], alarmId: number) =>
      waitFor(
        () => changes.find((c) => c.change === change && c.alarm.id === alarmId),
        `${change} of alarm ${alarmId}`,
      ),
  };
}

/** Live alarms over socket.io and what operators do to them (issue #13, decision 0160). */
describe('live alarms', () => {
  let t: TestHub;
  let water: MqttClient;
  // Another device for the later tests: six opens and clears of one alarm in an hour make it flap.
  let cover: MqttClient;
  let viewerToken = '';
  let crewToken = '';
  let areaToken = '';
  let otherAreaToken = '';
  let district = '';

  const post = (path: string, body?: unknown, token = t.adminToken) =>
    authed(token)(`${t.httpUrl}${path}`, {
      method: 'POST',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  const depth = (cm: number) =>
    new Promise<void>((resolve, reject) =>
      water.publish(
        `devices/${t.devices.waterlogging.id}/telemetry`,
        JSON.stringify({ depth: cm }),
        { qos: 1 },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  const manhole = (metrics: Record<string, number>) =>
    new Promise<void>((resolve, reject) =>
      cover.publish(
        `devices/${t.devices.manhole.id}/telemetry`,
        JSON.stringify(metrics),
        { qos: 1 },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  const addUser = async (username: string, role: string, extra: Record<string, string> = {}) => {
    const res = await post(
      '/api/users',
      { username, role, password: testPassword(username), ...extra },
      t.adminToken,
    );
    expect(res.status).toBe(201);
    return login(t.httpUrl, username, testPassword(username));
  };

  beforeAll(async () => {
    t = await startTestHub({ CASE_TICK_INTERVAL_MS: '3600000' });
    water = await connectDevice(t.mqttUrl, t.devices.waterlogging);
    cover = await connectDevice(t.mqttUrl, t.devices.manhole);
    district = t.devices.manhole.gridCode.slice(0, 6);
    const other = district === '430302' ? '430304' : '430302';
    viewerToken = await addUser('viewer-a', 'viewer');
    crewToken = await addUser('crew-a', 'crew', { crewId: `drainage-${district}` });
    areaToken = await addUser('op-area', 'operator', { areaCode: district });
    otherAreaToken = await addUser('op-other', 'operator', { areaCode: other });
  });
  afterAll(async () => {
    water?.end(true);
    cover?.end(true);
    await t?.stop();
  });

  it('sends open alarms as a snapshot, then opened, acknowledged, severity and cleared in version order', async () => {
    const s = screen(t, t.adminToken);
    await s.ready();
    const start = s.snapshot()!.version;
    await depth(20);
    const opened = await s.seen('opened', (await waitForOpen(t)).id);
    expect(opened.version).toBeGreaterThan(start);
    expect(opened.alarm).toMatchObject({
      severity: 'warning',
      state: 'open',
      version: opened.version,
    });

    const ack = await post(`/api/alarms/${opened.alarm.id}/ack`, {
      comment: '已通知排水所 called the drainage office',
      // A name the client sends is not who acknowledged.
    });
    expect(ack.status).toBe(200);
    const acked = (await ack.json()) as AlarmRecord;
    expect(acked).toMatchObject({
      acknowledgedBy: 'admin',
      ackComment: '已通知排水所 called the drainage office',
    });
    const ackChange = await s.seen('acknowledged', opened.alarm.id);
    expect(ackChange).toMatchObject({
      by: 'admin',
      comment: '已通知排水所 called the drainage office',
    });

    await depth(30);
    const worse = await s.seen('severity', opened.alarm.id);
    expect(worse.alarm.severity).toBe('major');
    await depth(2);
    await s.seen('cleared', opened.alarm.id);

    const versions = s.changes.map((c) => c.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
    s.socket.close();
  });

  it('shelves an alarm for a while, brings it back when it expires, and at once when it worsens', async () => {
    const s = screen(t, t.adminToken);
    await s.ready();
    await depth(16);
    const alarm = await waitForOpen(t);
    expect((await post(`/api/alarms/${alarm.id}/shelve`, { minutes: 0 })).status).toBe(400);
    expect((await post(`/api/alarms/${alarm.id}/shelve`, {})).status).toBe(400);
    expect(
      (await post(`/api/alarms/${alarm.id}/shelve`, { minutes: 30 }, viewerToken)).status,
    ).toBe(403);

    const res = await post(`/api/alarms/${alarm.id}/shelve`, {
      minutes: 30,
      comment: '施工 works',
    });
    expect(res.status).toBe(200);
    const shelved = (await res.json()) as AlarmRecord;
    expect(shelved).toMatchObject({ shelvedBy: 'admin', shelveComment: '施工 works' });
    expect(Date.parse(shelved.shelvedUntil!) - Date.now()).toBeGreaterThan(29 * 60_000);
    await s.seen('shelved', alarm.id);

    // Its time is up: the leader's tick brings it back, as the hub.
    await t.hub.db.pool.query(
      `UPDATE alarms SET shelved_until = now() - interval '1 second' WHERE id = $1`,
      [alarm.id],
    );
    expect(await t.hub.alarmDesk.expireShelves()).toBe(1);
    const back = await s.seen('unshelved', alarm.id);
    expect(back).toMatchObject({ by: null, alarm: { shelvedUntil: null } });

    // Shelved again, then the water rises past the next level: back at once.
    const until = new Date(Date.now() + 3600_000).toISOString();
    expect((await post(`/api/alarms/${alarm.id}/shelve`, { until })).status).toBe(200);
    await depth(45);
    const worse = await s.seen('severity', alarm.id);
    expect(worse.alarm).toMatchObject({ severity: 'critical', shelvedUntil: null });

    // Unshelve by hand; a cleared alarm cannot be shelved.
    expect((await post(`/api/alarms/${alarm.id}/shelve`, { minutes: 5 })).status).toBe(200);
    const un = await post(`/api/alarms/${alarm.id}/unshelve`);
    expect(((await un.json()) as AlarmRecord).shelvedUntil).toBeNull();
    await waitFor(
      () => s.changes.filter((c) => c.change === 'unshelved').length === 2 || undefined,
      'unshelve',
    );
    await depth(0);
    await s.seen('cleared', alarm.id);
    const cleared = await post(`/api/alarms/${alarm.id}/shelve`, { minutes: 5 });
    expect(cleared.status).toBe(409);
    expect(((await cleared.json()) as { code: string }).code).toBe('HUB_ERR_ALARM_CLEARED');
    expect((await post(`/api/alarms/999999/unshelve`)).status).toBe(404);
    s.socket.close();
  });

  it('resumes after the last version seen with exactly the changes missed', async () => {
    const first = screen(t, t.adminToken);
    await first.ready();
    const last = first.snapshot()!.version;
    first.socket.close();

    await manhole({ battery: 10 });
    const alarm = await waitForOpen(t, 'manhole.battery_low');
    // Alarm changes go to PostgreSQL as escaped literals with the COMMIT (db/alarm-events.ts).
    const comment = `seen by O'Brien \\ '); DROP TABLE alarms; -- $$ 井盖`;
    await post(`/api/alarms/${alarm.id}/ack`, { comment });
    await manhole({ battery: 60 });
    await waitFor(
      async () => ((await openAlarm(t, 'manhole.battery_low')) ? undefined : true),
      'cleared',
    );

    const again = screen(t, t.adminToken, last);
    const missed = await waitFor(
      () =>
        again.changes.some((c) => c.change === 'cleared' && c.alarm.id === alarm.id)
          ? again.changes
          : undefined,
      'the replay',
    );
    expect(again.snapshot()).toBeNull();
    expect(missed.map((c) => c.change)).toEqual(['opened', 'acknowledged', 'cleared']);
    expect(missed[0]!.version).toBeGreaterThan(last);
    expect(missed[1]).toMatchObject({ by: 'admin', comment });
    expect(missed[1]!.alarm.version).toBe(missed[1]!.version);
    again.socket.close();
  });

  it('sends an area operator its own district only, and a crew no alarms', async () => {
    const mine = screen(t, areaToken);
    const other = screen(t, otherAreaToken);
    const crew = screen(t, crewToken);
    await Promise.all([mine.ready(), other.ready()]);
    await manhole({ water_level: 20 });
    const alarm = await waitForOpen(t, 'manhole.overflow_risk');
    await mine.seen('opened', alarm.id);
    const viewer = screen(t, viewerToken);
    await viewer.ready();
    expect(viewer.snapshot()!.alarms.map((a) => a.id)).toContain(alarm.id);
    // Acting on it takes the same scope: the other district's operator is refused.
    const ack = (token: string) =>
      authed(token)(`${t.httpUrl}/api/alarms/${alarm.id}/ack`, {
        method: 'POST',
        body: JSON.stringify({ comment: 'seen' }),
      });
    const refused = await ack(otherAreaToken);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe('HUB_ERR_OUT_OF_AREA');
    expect((await ack(areaToken)).status).toBe(200);
    await manhole({ water_level: 80 });
    await mine.seen('cleared', alarm.id);
    // The other district's screen and the crew's phone heard nothing.
    expect(other.changes).toEqual([]);
    expect(other.snapshot()!.alarms).toEqual([]);
    expect(crew.snapshot()).toBeNull();
    expect(crew.changes).toEqual([]);
    // REST lists the same scope as the live feed.
    const listed = async (token: string) =>
      (
        (await (await authed(token)(`${t.httpUrl}/api/alarms?limit=100`)).json()) as {
          alarms: AlarmRecord[];
        }
      ).alarms.map((a) => a.id);
    expect(await listed(areaToken)).toContain(alarm.id);
    expect(await listed(otherAreaToken)).not.toContain(alarm.id);
    expect(await listed(crewToken)).toEqual([]);
    expect(await listed(viewerToken)).toContain(alarm.id);
    for (const s of [mine, other, crew, viewer]) s.socket.close();
  });

  it('records who acknowledged in the audit log', async () => {
    const res = await authed(t.adminToken)(`${t.httpUrl}/api/audit?action=POST%20%2Fapi%2Falarms`);
    expect(res.status).toBe(200);
    const { entries } = (await res.json()) as { entries: { username: string; action: string }[] };
    expect(entries.some((e) => e.username === 'admin' && e.action.includes('/ack'))).toBe(true);
  });
});

async function openAlarm(t: TestHub, ruleId = 'waterlogging.depth') {
  const res = await authed(t.adminToken)(`${t.httpUrl}/api/alarms?state=open`);
  const { alarms } = (await res.json()) as { alarms: AlarmRecord[] };
  return alarms.find((a) => a.ruleId === ruleId);
}
const waitForOpen = (t: TestHub, ruleId?: string) =>
  waitFor(() => openAlarm(t, ruleId), `an open ${ruleId ?? 'water'} alarm`);
