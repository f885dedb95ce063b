import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closed, connectClient, nextMessage } from '../support/broker.js';
import { connectDevice, startTestHub, waitFor, type TestHub } from '../support/hub.js';
import { freePort } from '../support/ports.js';
import { selfSignedPair } from '../support/tls.js';

/**
 * The device gateway through the whole hub (#6): the registry over REST,
 * live in the broker; online status in PostgreSQL; commands to a device and
 * its ack; metrics.
 */
const servicePassword = 'gateway-test-service-password';

describe('the device gateway', () => {
  let t: TestHub;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    t = await startTestHub({
      COMMAND_TIMEOUT_MS: '400',
      STATUS_FLUSH_INTERVAL_MS: '50',
      MQTT_PERSISTENCE: 'memory',
      MQTT_SERVICE_PASSWORD: servicePassword,
    });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.end(true);
  });
  afterAll(async () => {
    await t?.stop();
  });

  const api = async (method: string, url: string, body?: unknown, type = 'application/json') => {
    const res = await fetch(`${t.httpUrl}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${t.adminToken}`,
        ...(body === undefined ? {} : { 'content-type': type }),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    // Response bodies are read loosely here; their shapes are what the assertions check.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  it('upgrades a device still stored with a scrypt hash to the fast form on its next good CONNECT', async () => {
    const { generateSecret, hashDeviceSecret, hashSecret, secretCost } =
      await import('../../src/domain/index.js');
    const id = t.devices.elevator.id;
    const secret = generateSecret();
    const legacy = await hashSecret(secret, secretCost.device);
    await t.hub.db.pool.query('UPDATE devices SET secret_hash = $2 WHERE id = $1', [id, legacy]);
    await t.hub.broker!.applyDevice({ ...t.hub.directory.get(id)!, secretHash: legacy });
    clients.push(await connectDevice(t.mqttUrl, { id, secret }));
    const stored = await waitFor(async () => {
      const { rows } = await t.hub.db.pool.query<{ h: string }>(
        'SELECT secret_hash AS h FROM devices WHERE id = $1',
        [id],
      );
      return rows[0]!.h.startsWith('sha256$') ? rows[0]!.h : undefined;
    }, 'the upgraded hash');
    expect(stored).toBe(hashDeviceSecret(secret));
    expect(t.hub.directory.get(id)!.secretHash).toBe(stored);
    // The same secret still gets in, now without scrypt.
    clients.push(await connectDevice(t.mqttUrl, { id, secret }));
    expect(t.hub.broker!.counters.secretUpgrades).toBe(1);
  });

  it('creates a device whose secret is shown once and works at once, without a restart', async () => {
    const grid = t.devices.gas.gridCode;
    const created = await api('POST', '/api/devices', {
      id: 'SL-NEW01',
      type: 'streetlight',
      gridCode: grid,
      name: '新灯杆',
      lat: 27.86,
      lon: 112.91,
      vendor: 'Acme',
    });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(created.body.device).toMatchObject({ id: 'SL-NEW01', attrs: { vendor: 'Acme' } });
    const { rows } = await t.hub.db.pool.query(
      `SELECT secret_hash FROM devices WHERE id = 'SL-NEW01'`,
    );
    expect(rows[0].secret_hash).toMatch(/^sha256\$[A-Za-z0-9_-]{43}$/);
    expect(rows[0].secret_hash).not.toContain(created.body.secret);

    const device = await connectDevice(t.mqttUrl, { id: 'SL-NEW01', secret: created.body.secret });
    clients.push(device);
    expect(
      (
        await api('POST', '/api/devices', {
          id: 'SL-NEW01',
          type: 'streetlight',
          gridCode: grid,
          name: 'x',
        })
      ).body.code,
    ).toBe('HUB_ERR_DEVICE_EXISTS');
  });

  it('keeps a status record per device that GET /api/devices shows, and a retained status topic', async () => {
    const gas = t.devices.gas;
    const device = await connectDevice(t.mqttUrl, gas);
    const status = await waitFor(async () => {
      const { body } = await api('GET', `/api/devices/${gas.id}`);
      return body.status?.online ? body.status : undefined;
    }, 'status online');
    expect(status).toMatchObject({ online: true, address: '127.0.0.1', protocol: 'mqtt' });
    const list = await api('GET', '/api/devices?type=gas');
    expect(list.body.devices[0]).toMatchObject({
      id: gas.id,
      online: true,
      status: { online: true },
    });

    await device.endAsync();
    await waitFor(async () => {
      const { body } = await api('GET', `/api/devices/${gas.id}`);
      return body.status?.online === false ? true : undefined;
    }, 'status offline');

    // Anyone who reads the status topic later gets the retained offline status.
    const watcher = await connectClient(t.mqttUrl, {
      clientId: 'svc-status',
      username: 'service:dashboard',
      password: servicePassword,
    });
    clients.push(watcher);
    const got = nextMessage(watcher, `devices/${gas.id}/status`);
    await watcher.subscribeAsync('devices/+/status', { qos: 1 });
    const retained = (await got).toString();
    expect(JSON.parse(retained)).toMatchObject({ online: false });
  });

  it('disconnects a connected device when it is disabled, and refuses it until enabled', async () => {
    const dust = t.devices.dust_noise;
    const device = await connectDevice(t.mqttUrl, dust);
    const gone = closed(device);
    const res = await api('POST', `/api/devices/${dust.id}/disable`);
    expect(res.body).toMatchObject({ id: dust.id, enabled: false });
    await gone;
    device.end(true);
    await expect(connectDevice(t.mqttUrl, dust)).rejects.toMatchObject({ code: 5 });
    await api('POST', `/api/devices/${dust.id}/enable`);
    clients.push(await connectDevice(t.mqttUrl, dust));
  });

  it('rotates a secret: the old one stops working, the new one works', async () => {
    const el = t.devices.manhole;
    const res = await api('POST', `/api/devices/${el.id}/secret`);
    expect(res.status).toBe(200);
    await expect(connectDevice(t.mqttUrl, el)).rejects.toMatchObject({ code: 4 });
    clients.push(await connectDevice(t.mqttUrl, { id: el.id, secret: res.body.secret }));
  });

  it('updates a device', async () => {
    const wl = t.devices.waterlogging;
    const res = await api('PATCH', `/api/devices/${wl.id}`, { name: '积水点 改名', lat: null });
    expect(res.body).toMatchObject({ id: wl.id, name: '积水点 改名', lat: null });
    expect((await api('PATCH', '/api/devices/NOPE', { name: 'x' })).status).toBe(404);
  });

  it('imports the good rows of a CSV and reports each bad row with its line number', async () => {
    const grid = t.devices.gas.gridCode;
    await api('POST', '/api/devices', { id: 'EXISTING', type: 'gas', gridCode: grid, name: 'x' });
    const csv = readFileSync(
      new URL('../fixtures/devices-with-bad-rows.csv', import.meta.url),
      'utf8',
    ).replaceAll('GRID', grid);
    const res = await api('POST', '/api/devices/import', csv, 'text/csv');
    expect(res.status).toBe(201);
    expect(res.body.devices.map((d: { id: string }) => d.id)).toEqual([
      'SL-IMP01',
      'SL-IMP02',
      'PS-IMP01',
    ]);
    expect(res.body.errors.map((e: { line: number }) => e.line)).toEqual([
      4, 5, 6, 7, 8, 9, 10, 12,
    ]);
    expect(res.body.errors.find((e: { line: number }) => e.line === 5).message).toMatch(
      /type "teapot"/,
    );
    expect(res.body.errors.find((e: { line: number }) => e.line === 12).message).toMatch(
      /HUB_ERR_DEVICE_EXISTS/,
    );
    const pump = await api('GET', '/api/devices/PS-IMP01');
    expect(pump.body).toMatchObject({
      name: '泵站, quoted with a comma',
      attrs: { vendor: 'Pumps "R" Us' },
    });
    const secret = res.body.devices.find((d: { id: string }) => d.id === 'PS-IMP01').secret;
    clients.push(await connectDevice(t.mqttUrl, { id: 'PS-IMP01', secret }));
  });

  it('sends a streetlight dim command and records the device acknowledgement', async () => {
    const lamp = t.devices.streetlight;
    const device = await connectDevice(t.mqttUrl, lamp);
    clients.push(device);
    await device.subscribeAsync(`devices/${lamp.id}/commands`, { qos: 1 });
    const got = nextMessage(device, `devices/${lamp.id}/commands`);
    const sent = await api('POST', `/api/devices/${lamp.id}/commands`, {
      name: 'dim',
      args: { level: 40 },
    });
    expect(sent.status).toBe(202);
    expect(sent.body).toMatchObject({ state: 'sent', name: 'dim', args: { level: 40 } });
    const message = JSON.parse((await got).toString());
    expect(message).toMatchObject({ id: sent.body.id, name: 'dim', args: { level: 40 } });
    await device.publishAsync(
      `devices/${lamp.id}/commands/ack`,
      JSON.stringify({ id: message.id, ok: true, result: { dim: 40 } }),
      { qos: 1 },
    );
    const acked = await waitFor(async () => {
      const { body } = await api('GET', `/api/devices/${lamp.id}/commands`);
      const c = body.commands.find((x: { id: string }) => x.id === message.id);
      return c?.state === 'acknowledged' ? c : undefined;
    }, 'acknowledged');
    expect(acked.result).toEqual({ dim: 40 });
  });

  it('records a failed ack, times out an unanswered command, and refuses an unknown one', async () => {
    const pump = t.devices.pump_station;
    const device = await connectDevice(t.mqttUrl, pump);
    clients.push(device);
    await device.subscribeAsync(`devices/${pump.id}/commands`, { qos: 1 });
    const got = nextMessage(device, `devices/${pump.id}/commands`);
    const start = await api('POST', `/api/devices/${pump.id}/commands`, {
      name: 'start',
      args: { pump: 1 },
    });
    const message = JSON.parse((await got).toString());
    await device.publishAsync(
      `devices/${pump.id}/commands/ack`,
      JSON.stringify({ id: message.id, ok: false, error: 'local control' }),
      { qos: 1 },
    );
    const stop = await api('POST', `/api/devices/${pump.id}/commands`, {
      name: 'stop',
      args: { pump: 1 },
    });
    const states = await waitFor(async () => {
      const { body } = await api('GET', `/api/devices/${pump.id}/commands`);
      const byId = new Map(body.commands.map((c: { id: string; state: string }) => [c.id, c]));
      const a = byId.get(start.body.id) as { state: string; error: string } | undefined;
      const b = byId.get(stop.body.id) as { state: string } | undefined;
      return a?.state === 'failed' && b?.state === 'timed_out' ? { a, b } : undefined;
    }, 'failed and timed out');
    expect(states.a.error).toBe('local control');

    const unknown = await api('POST', `/api/devices/${pump.id}/commands`, {
      name: 'dim',
      args: {},
    });
    expect(unknown).toMatchObject({ status: 400, body: { code: 'HUB_ERR_COMMAND_UNKNOWN' } });
    const badArgs = await api('POST', `/api/devices/${pump.id}/commands`, {
      name: 'start',
      args: { pump: 42 },
    });
    expect(badArgs.body.code).toBe('HUB_ERR_COMMAND_UNKNOWN');
  });

  it('closes a device that sends a payload over the limit, and dead-letters it', async () => {
    const wl = t.devices.waterlogging;
    const device = await connectDevice(t.mqttUrl, wl);
    const gone = closed(device);
    device.publish(`devices/${wl.id}/telemetry`, `{"depth":1,"pad":"${'x'.repeat(70_000)}"}`, {
      qos: 1,
    });
    await gone;
    device.end(true);
    const letter = await waitFor(async () => {
      const { body } = await api('GET', `/api/dead-letters?deviceId=${wl.id}`);
      return body.deadLetters.find((d: { code: string }) => d.code === 'HUB_ERR_PAYLOAD_TOO_LARGE');
    }, 'the dead letter');
    expect(letter.reason).toMatch(/refused by the broker/);
  });

  it('serves Prometheus metrics with connections, messages, bytes, auth failures and drops', async () => {
    const res = await fetch(`${t.httpUrl}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    for (const name of [
      'hub_mqtt_connections',
      'hub_mqtt_connects_total',
      'hub_mqtt_messages_in_total',
      'hub_mqtt_messages_out_total',
      'hub_mqtt_bytes{direction="in"}',
      'hub_mqtt_auth_failures_total{reason=',
      'hub_mqtt_drops_total',
      'process_resident_memory_bytes',
    ]) {
      expect(text, name).toContain(name);
    }
  });
});

describe('listeners turned on by configuration', () => {
  const pair = selfSignedPair();
  let t: TestHub;

  beforeAll(async () => {
    if (!pair) return;
    t = await startTestHub({
      MQTT_TCP_ENABLED: 'false',
      MQTT_TLS_PORT: String(await freePort()),
      MQTT_TLS_CERT_FILE: pair.certFile,
      MQTT_TLS_KEY_FILE: pair.keyFile,
      MQTT_WS_PORT: String(await freePort()),
    });
  });
  afterAll(async () => {
    await t?.stop();
    if (pair) await rm(pair.dir, { recursive: true, force: true });
  });

  it.skipIf(!pair)('serves devices over TLS and WebSocket with TCP off', async () => {
    expect(t.hub.broker.ports.mqtt).toBeNull();
    const gas = t.devices.gas;
    const overTls = await connectDevice(`mqtts://127.0.0.1:${t.hub.broker.ports.mqtts}`, gas, {
      ca: readFileSync(pair!.certFile),
    });
    await overTls.endAsync();
    const overWs = await connectDevice(`ws://127.0.0.1:${t.hub.broker.ports.ws}/mqtt`, gas);
    await overWs.publishAsync(`devices/${gas.id}/telemetry`, '{"ch4":0.5}', { qos: 1 });
    await overWs.endAsync();
    const status = await waitFor(async () => {
      const r = await t.hub.db.pool.query(
        'SELECT protocol FROM device_status WHERE device_id = $1',
        [gas.id],
      );
      return r.rows[0]?.protocol === 'ws' ? r.rows[0] : undefined;
    }, 'the ws status record');
    expect(status).toEqual({ protocol: 'ws' });
  });
});
