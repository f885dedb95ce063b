import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextMessage } from '../support/broker.js';
import {
  connectDevice,
  startOtherNode,
  startTestHub,
  waitFor,
  type TestHub,
} from '../support/hub.js';
import { machineRedisUrl, redisReachable, redisTestPrefix } from '../support/redis.js';

const reachable = await redisReachable();

/**
 * Two whole hubs on one database and the machine's Redis (#6): an operator
 * sends a command through node A, the device is connected to node B, its ack
 * settles the command; telemetry through node B raises one alarm, not two.
 */
describe.skipIf(!reachable)('two hub nodes sharing PostgreSQL and Redis', () => {
  const { prefix, cleanUp } = redisTestPrefix();
  let a: TestHub;
  let node: Awaited<ReturnType<typeof startOtherNode>>;
  const clients: MqttClient[] = [];
  const env = { REDIS_URL: machineRedisUrl, REDIS_KEY_PREFIX: prefix };

  beforeAll(async () => {
    a = await startTestHub(env);
    node = await startOtherNode(a, env);
  });
  afterAll(async () => {
    for (const c of clients) c.end(true);
    await node?.stop();
    await a?.stop();
    await cleanUp();
  });

  it('delivers a command sent through node A to a device on node B, and settles its ack', async () => {
    const lamp = a.devices.streetlight;
    const device = await connectDevice(`mqtt://127.0.0.1:${node.hub.mqttPort}`, lamp);
    clients.push(device);
    await device.subscribeAsync(`devices/${lamp.id}/commands`, { qos: 1 });
    const got = nextMessage(device, `devices/${lamp.id}/commands`);
    const res = await fetch(`${a.httpUrl}/api/devices/${lamp.id}/commands`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${a.adminToken}` },
      body: JSON.stringify({ name: 'off' }),
    });
    expect(res.status).toBe(202);
    const command = JSON.parse((await got).toString()) as { id: string };
    await device.publishAsync(
      `devices/${lamp.id}/commands/ack`,
      JSON.stringify({ id: command.id, ok: true }),
      { qos: 1 },
    );
    await waitFor(async () => {
      const r = await fetch(`${a.httpUrl}/api/devices/${lamp.id}/commands`, {
        headers: { authorization: `Bearer ${a.adminToken}` },
      });
      const body = (await r.json()) as { commands: { id: string; state: string }[] };
      return body.commands.find((c) => c.id === command.id)?.state === 'acknowledged'
        ? true
        : undefined;
    }, 'the ack settled through node B');
  });

  it('raises one alarm, not two, for telemetry received by node B', async () => {
    const manhole = a.devices.manhole;
    const device = await connectDevice(`mqtt://127.0.0.1:${node.hub.mqttPort}`, manhole);
    clients.push(device);
    await device.publishAsync(`devices/${manhole.id}/events`, JSON.stringify({ tilt: 45 }), {
      qos: 1,
    });
    const rows = async () =>
      (await a.hub.db.pool.query(`SELECT state FROM alarms WHERE device_id = $1`, [manhole.id]))
        .rows;
    await waitFor(async () => ((await rows()).length > 0 ? true : undefined), 'the alarm');
    await a.hub.alarms.settled();
    await node.hub.alarms.settled();
    expect(await rows()).toEqual([{ state: 'open' }]);
  });
});
