import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertDeadLetters } from '../../src/db/index.js';
import { loadConfig } from '../../src/hub/config.js';
import { startNode } from '../../src/hub/hub.js';
import { nextMessage } from '../support/broker.js';
import {
  authed,
  connectDevice,
  createUsers,
  lightingAreas,
  startRoleNode,
  startTestHub,
  waitFor,
  type TestHub,
} from '../support/hub.js';
import { machineRedisUrl, redisReachable, redisTestPrefix } from '../support/redis.js';

const reachable = await redisReachable();

type RoleNode = Awaited<ReturnType<typeof startRoleNode>>;

interface Health {
  node: { role: string; leader: boolean; clustered: boolean };
  broker?: unknown;
  alarms?: unknown;
}

it('refuses a role other than all without a shared database and Redis', async () => {
  await expect(startNode(loadConfig({ HUB_ROLE: 'broker', LOG_LEVEL: 'silent' }))).rejects.toThrow(
    /role broker needs DATABASE_URL .* and REDIS_URL/,
  );
});

/**
 * Process roles (#6, docs/deploy.md): on one database and the machine's
 * Redis, a broker, a worker and an API process each start their share, and
 * together they still carry a command from the API process to a device on
 * the broker process.
 */
describe.skipIf(!reachable)('process roles', () => {
  const { prefix, cleanUp } = redisTestPrefix();
  const env = { REDIS_URL: machineRedisUrl, REDIS_KEY_PREFIX: prefix };
  let first: TestHub;
  let broker: RoleNode;
  let worker: RoleNode;
  let api: RoleNode;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    // The database, its migrations and the demo city come from a first process (role all).
    first = await startTestHub(env);
    // Started together, as a deployment starts them.
    const nodes = await Promise.all(
      (['broker', 'worker', 'api'] as const).map((role) =>
        startRoleNode(first, { ...env, HUB_ROLE: role }),
      ),
    );
    [broker, worker, api] = nodes as [RoleNode, RoleNode, RoleNode];
  });
  afterAll(async () => {
    for (const c of clients) c.end(true);
    for (const n of [api, worker, broker]) await n?.stop();
    await first?.stop();
    await cleanUp();
  });

  const health = async (n: RoleNode) =>
    (await (await fetch(`${n.httpUrl}/api/health`)).json()) as Health;

  it('starts MQTT, ingest and the rules on a broker process, and no dashboard', async () => {
    const h = broker.hub;
    expect(h.mqttPort).toBeGreaterThan(0);
    expect(h.ingest).toBeDefined();
    expect(h.alarms).toBeDefined();
    expect(h.dashboard).toBeUndefined();
    expect(await health(broker)).toMatchObject({ node: { role: 'broker', leader: false } });
    expect((await fetch(`${broker.httpUrl}/api/cases`)).status).toBe(404);
    expect(await (await fetch(`${broker.httpUrl}/metrics`)).text()).toContain(
      'hub_mqtt_connections',
    );
  });

  it('starts the rules and the duties on a worker process, no MQTT and no dashboard', async () => {
    const h = worker.hub;
    expect(h.mqttPort).toBe(0);
    expect(h.broker).toBeUndefined();
    expect(h.ingest).toBeUndefined();
    expect(h.alarms).toBeDefined();
    expect(h.dashboard).toBeUndefined();
    // The first process (role all) holds the lock; the worker waits to take over.
    expect(await health(worker)).toMatchObject({ node: { role: 'worker', leader: false } });
  });

  it('starts REST and socket.io on an API process, with no MQTT listener and no rules', async () => {
    const h = api.hub;
    expect(h.dashboard).toBeDefined();
    expect(h.mqttPort).toBe(0);
    expect(h.alarms).toBeUndefined();
    const hh = await health(api);
    expect(hh.node).toMatchObject({ role: 'api', leader: false, clustered: true });
    expect(hh.alarms).toBeUndefined();
  });

  it('carries an operator’s command sent through the API process to a device on the broker process', async () => {
    const lamp = first.devices.streetlight;
    const { district, otherDistrict } = lightingAreas(first);
    // The control room commands devices (decision 0190): operators, in their area if they have one.
    const users = await createUsers(api.httpUrl, first.adminToken, [
      { username: 'duty-op', role: 'operator' },
      { username: 'duty-op-here', role: 'operator', areaCode: district },
      { username: 'duty-op-there', role: 'operator', areaCode: otherDistrict },
      { username: 'duty-sup', role: 'supervisor' },
    ]);
    const command = (who: string, name: string) =>
      authed(users[who]!.token)(`${api.httpUrl}/api/devices/${lamp.id}/commands`, {
        method: 'POST',
        body: JSON.stringify({ name }),
      });
    const device = await connectDevice(`mqtt://127.0.0.1:${broker.hub.mqttPort}`, lamp);
    clients.push(device);
    await device.subscribeAsync(`devices/${lamp.id}/commands`, { qos: 1 });
    const got = nextMessage(device, `devices/${lamp.id}/commands`);
    const res = await command('duty-op', 'off');
    expect(res.status).toBe(202);
    expect(JSON.parse((await got).toString())).toMatchObject({ name: 'off' });
    expect((await command('duty-op-here', 'on')).status).toBe(202);

    const outside = await command('duty-op-there', 'on');
    expect([outside.status, ((await outside.json()) as { code: string }).code]).toEqual([
      403,
      'HUB_ERR_OUT_OF_AREA',
    ]);
    const supervisor = await command('duty-sup', 'on');
    expect([supervisor.status, ((await supervisor.json()) as { code: string }).code]).toEqual([
      403,
      'HUB_ERR_FORBIDDEN',
    ]);
    // Every command and every refusal is in the audit log, under who tried.
    const audit = await authed(first.adminToken)(
      `${api.httpUrl}/api/audit?action=${encodeURIComponent('/commands')}&target=${lamp.id}`,
    );
    const { entries } = (await audit.json()) as {
      entries: { username: string; outcome: string; detail: { body?: unknown } | null }[];
    };
    expect(entries.map((e) => `${e.username} ${e.outcome}`).sort()).toEqual([
      'duty-op ok',
      'duty-op-here ok',
      'duty-op-there refused',
      'duty-sup refused',
    ]);
    expect(entries.find((e) => e.username === 'duty-op')?.detail?.body).toEqual({ name: 'off' });
  });

  it('runs the rules on the readings of a dead-letter replay through the API process', async () => {
    const cover = first.devices.manhole;
    const start = Date.now() - 600_000;
    // Level and closed, then displaced: more readings than one NOTIFY carries, the alarm in the last.
    const readings = Array.from({ length: 200 }, (_, i) =>
      i < 199 ? { ts: start + i * 1000, tilt: 1, open: false } : { ts: start + i * 1000, tilt: 30 },
    );
    const payload = JSON.stringify(readings);
    await insertDeadLetters(first.hub.db.pool, [
      {
        receivedAt: new Date(start).toISOString(),
        deviceId: cover.id,
        topic: `devices/${cover.id}/telemetry`,
        code: 'HUB_ERR_PAYLOAD_UNKNOWN_METRIC',
        reason: 'refused before the schema was fixed',
        payload,
        payloadBytes: Buffer.byteLength(payload),
      },
    ]);
    const { rows } = await first.hub.db.pool.query<{ id: number }>(
      `SELECT id FROM dead_letters WHERE device_id = $1 AND replayed_at IS NULL`,
      [cover.id],
    );
    const res = await authed(first.adminToken)(`${api.httpUrl}/api/dead-letters/replay`, {
      method: 'POST',
      body: JSON.stringify({ ids: rows.map((r) => r.id) }),
    });
    expect(await res.json()).toEqual({
      outcomes: [{ id: rows[0]!.id, status: 'replayed', readings: 200 }],
    });
    // The leader (the first process here) evaluates them: the cover's alarm opens.
    await waitFor(
      async () =>
        (
          await first.hub.db.pool.query(
            `SELECT 1 FROM alarms WHERE source = $1 AND rule_id = 'manhole.displaced' AND state = 'open'`,
            [cover.id],
          )
        ).rowCount === 1
          ? true
          : undefined,
      'the displaced-cover alarm from the replayed readings',
    );
  });

  it('reloads a rule edited through the API process in the broker and worker processes', async () => {
    const res = await authed(first.adminToken)(`${api.httpUrl}/api/rules/all.mqtt_rate_abuse`, {
      method: 'PATCH',
      body: JSON.stringify({
        settings: { dropsPerMinute: 7, forMinutes: 3, clearAfterMinutes: 5 },
      }),
    });
    expect(res.status).toBe(200);
    for (const n of [broker, worker, first.hub] as const) {
      const evaluator = 'hub' in n ? n.hub.evaluator : n.evaluator;
      await waitFor(
        () =>
          evaluator?.rules().find((r) => r.id === 'all.mqtt_rate_abuse')?.settings
            .dropsPerMinute === 7
            ? true
            : undefined,
        'the edited rule in every process with rules',
      );
    }
  });
});
