import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AlarmChange,
  ClientToServerEvents,
  DeviceReadings,
  DeviceStatusChange,
  DeviceStatusSnapshot,
  ServerToClientEvents,
} from '../../src/domain/index.js';
import {
  authed,
  connectDevice,
  startOtherNode,
  startTestHub,
  waitFor,
  type TestHub,
} from '../support/hub.js';
import { machineRedisUrl, redisReachable, redisTestPrefix } from '../support/redis.js';

const reachable = await redisReachable();

/**
 * Live alarms, device status and watched readings across two hub nodes
 * (issue #13, decisions 0160, 0162): the device is connected to node A, the
 * screen to node B. The feed poll is ten minutes long, so only NOTIFY (and,
 * for readings, the broker's shared emitter) can bring them to node B.
 */
describe.skipIf(!reachable)('live data across two hub nodes', () => {
  const { prefix, cleanUp } = redisTestPrefix();
  const env = {
    REDIS_URL: machineRedisUrl,
    REDIS_KEY_PREFIX: prefix,
    CASE_FEED_POLL_MS: '600000',
    CASE_TICK_INTERVAL_MS: '3600000',
    STATUS_FLUSH_INTERVAL_MS: '200',
  };
  let a: TestHub;
  let b: Awaited<ReturnType<typeof startOtherNode>>;

  beforeAll(async () => {
    a = await startTestHub(env);
    b = await startOtherNode(a, env);
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await cleanUp();
  });

  const screen = (url: string, auth: Record<string, unknown> = {}) =>
    io(url, {
      transports: ['websocket'],
      reconnection: false,
      auth: { token: a.adminToken, ...auth },
    }) as Socket<ServerToClientEvents, ClientToServerEvents>;

  it('shows a screen on node B the alarms, status flips and watched readings of a device on node A', async () => {
    const onB = screen(b.httpUrl);
    const alarms: AlarmChange[] = [];
    const flips: DeviceStatusChange[] = [];
    const readings: DeviceReadings[] = [];
    onB.on('alarm:changed', (c) => alarms.push(c));
    onB.on('devices:changed', (batch) => flips.push(...batch.changes));
    onB.on('device:readings', (r) => readings.push(r));
    const snapshot = await new Promise<{ version: number }>((r) => onB.once('alarms:snapshot', r));
    const devices = new Promise<DeviceStatusSnapshot>((r) => onB.once('devices:snapshot', r));
    expect(await onB.emitWithAck('devices:subscribe')).toEqual({ ok: true });
    await devices;
    const water = a.devices.waterlogging;
    expect(await onB.emitWithAck('device:watch', water.id)).toEqual({ ok: true });

    const device = await connectDevice(a.mqttUrl, water);
    await waitFor(() => flips.find((f) => f.deviceId === water.id && f.online), 'online on B');
    await device.publishAsync(`devices/${water.id}/telemetry`, JSON.stringify({ depth: 20 }), {
      qos: 1,
    });
    const opened = await waitFor(
      () => alarms.find((c) => c.change === 'opened' && c.alarm.deviceId === water.id),
      'opened on B',
    );
    expect(opened.version).toBeGreaterThan(snapshot.version);
    await waitFor(
      () => readings.find((r) => r.readings.some((x) => x.metrics.depth === 20)),
      'the reading on B',
    );

    // Acknowledged through node A's REST: node B's screen hears it, once.
    const ack = await authed(a.adminToken)(`${a.httpUrl}/api/alarms/${opened.alarm.id}/ack`, {
      method: 'POST',
      body: JSON.stringify({ comment: 'cluster' }),
    });
    expect(ack.status).toBe(200);
    await waitFor(() => alarms.find((c) => c.change === 'acknowledged'), 'acknowledged on B');
    device.end(true);
    await waitFor(() => flips.find((f) => f.deviceId === water.id && !f.online), 'offline on B');
    const versions = alarms.map((c) => c.version);
    expect(new Set(versions).size).toBe(versions.length);
    expect(versions).toEqual([...versions].sort((x, y) => x - y));
    onB.close();
  });
});
