import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageDir, packageName, type RunningNodeRed } from '../../scripts/node-red.js';
import type { CaseDetail } from '../../src/domain/index.js';
import { authed, connectDevice, startTestHub, waitFor, type TestHub } from '../support/hub.js';
import { startCollector, startProxy, startTestNodeRed } from '../support/node-red.js';

const servicePassword = 'node-red-service-password';

/**
 * The Node-RED nodes in a real Node-RED 4.1 runtime (issue #14): loaded from
 * the package folder by its package.json `node-red` section, deployed through
 * the admin API, against a real hub on ephemeral ports.
 */
describe('the Node-RED nodes in a real Node-RED runtime', () => {
  let t: TestHub;
  let nr: RunningNodeRed;
  let nodeRed: Awaited<ReturnType<typeof startTestNodeRed>>;
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let operatorToken = '';
  const clients: MqttClient[] = [];

  const admin = (p: string, init: RequestInit = {}) => nodeRed.admin(p, init);
  const hub = (token: string) => authed(token);

  const post = (id: string, route: string, x: number, y: number) => ({
    id,
    type: 'http request',
    z: 'tab',
    method: 'POST',
    ret: 'txt',
    paytoqs: 'ignore',
    url: `${collector.url}${route}`,
    x,
    y,
    wires: [[]],
  });
  const setPayload = (id: string, from: string, next: string) => ({
    id,
    type: 'change',
    z: 'tab',
    rules: [{ t: 'set', p: 'payload', pt: 'msg', to: from, tot: 'msg' }],
    wires: [[next]],
  });

  let flows: Record<string, unknown>[] = [];

  beforeAll(async () => {
    t = await startTestHub({
      MQTT_SERVICE_PASSWORD: servicePassword,
      CASE_TICK_INTERVAL_MS: '3600000',
    });
    const res = await hub(t.adminToken)(`${t.httpUrl}/api/integration-tokens`, {
      method: 'POST',
      body: JSON.stringify({ name: 'node-red', role: 'operator' }),
    });
    operatorToken = ((await res.json()) as { token: string }).token;
    collector = await startCollector();
    proxy = await startProxy(t.hub.httpPort);
    nodeRed = await startTestNodeRed();
    nr = nodeRed.nr;
  });
  afterAll(async () => {
    for (const c of clients) c.end(true);
    await nodeRed?.stop();
    await proxy?.close();
    await collector?.close();
    await t?.stop();
  });

  it('refuses the editor and its admin API without the login', async () => {
    expect((await fetch(`${nr.url}/flows`)).status).toBe(401);
  });

  it('loads the package from its folder and lists its node types', async () => {
    const res = await admin('/nodes', { headers: { accept: 'application/json' } });
    expect(res.status).toBe(200);
    const sets = (await res.json()) as {
      module: string;
      types: string[];
      enabled: boolean;
      err?: string;
    }[];
    const ours = sets.filter((s) => s.module === packageName);
    expect(ours.every((s) => s.enabled && !s.err)).toBe(true);
    expect(ours.flatMap((s) => s.types).sort()).toEqual([
      'hub-alarm-in',
      'hub-case-action',
      'hub-case-in',
      'hub-command',
      'hub-config',
      'hub-query',
      'hub-telemetry-in',
    ]);
    // The editor gets each node's HTML and its zh-CN messages.
    const html = await admin('/nodes', { headers: { accept: 'text/html' } });
    expect(await html.text()).toContain('data-template-name="hub-case-in"');
    const zh = await admin(`/nodes/messages?lng=zh-CN`);
    expect(JSON.stringify(await zh.json())).toContain('案件输入');
  });

  it('ships example flows that use only node types the runtime has', async () => {
    const res = await admin('/nodes', { headers: { accept: 'application/json' } });
    const types = new Set(((await res.json()) as { types: string[] }[]).flatMap((s) => s.types));
    const dir = path.join(packageDir, 'examples');
    const examples = (await readdir(dir)).filter((f) => f.endsWith('.json'));
    expect(examples.sort()).toEqual([
      'critical-alarm-to-group-robot.json',
      'daily-kpi-digest.json',
      'rain-gauge-to-pump-start.json',
    ]);
    for (const file of examples) {
      const flow = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as {
        type: string;
        credentials?: unknown;
      }[];
      for (const n of flow) {
        if (n.type !== 'tab') expect(types.has(n.type), `${file}: ${n.type}`).toBe(true);
        expect(n.credentials, file).toBeUndefined();
      }
    }
  });

  it('deploys a flow through the admin API, with the token as a credential never exported', async () => {
    flows = [
      { id: 'tab', type: 'tab', label: 'hub' },
      {
        id: 'cfg',
        type: 'hub-config',
        name: 'test hub',
        url: proxy.url,
        mqttUrl: t.mqttUrl,
        mqttAccount: 'node-red',
        credentials: { token: operatorToken, mqttPassword: servicePassword },
      },
      {
        id: 'bad',
        type: 'hub-config',
        name: 'wrong token',
        url: t.httpUrl,
        credentials: { token: 'hubit_not-a-real-token' },
      },
      { id: 'caseIn', type: 'hub-case-in', z: 'tab', hub: 'cfg', wires: [['toCases']] },
      post('toCases', '/case', 300, 40),
      {
        id: 'manholeCases',
        type: 'hub-case-in',
        z: 'tab',
        hub: 'cfg',
        facilityType: 'manhole',
        severity: 'critical',
        wires: [['toManhole']],
      },
      post('toManhole', '/manhole-case', 300, 80),
      { id: 'alarmIn', type: 'hub-alarm-in', z: 'tab', hub: 'cfg', wires: [['toAlarms']] },
      post('toAlarms', '/alarm', 300, 120),
      {
        id: 'gasIn',
        type: 'hub-telemetry-in',
        z: 'tab',
        hub: 'cfg',
        by: 'type',
        value: 'gas',
        wires: [['toTelemetry']],
      },
      post('toTelemetry', '/telemetry', 300, 160),
      { id: 'refused', type: 'hub-case-in', z: 'tab', hub: 'bad', wires: [[]] },
      {
        id: 'askDevices',
        type: 'inject',
        z: 'tab',
        props: [{ p: 'payload' }],
        payload: '',
        payloadType: 'date',
        wires: [['query']],
      },
      {
        id: 'query',
        type: 'hub-query',
        z: 'tab',
        hub: 'cfg',
        query: 'devices',
        params: '{"type":"gas"}',
        wires: [['toQuery']],
      },
      post('toQuery', '/query', 300, 200),
      { id: 'catch', type: 'catch', z: 'tab', scope: null, wires: [['errorPayload']] },
      setPayload('errorPayload', 'error', 'toErrors'),
      post('toErrors', '/error', 300, 240),
      // Only the hub's nodes: the http request nodes' own status would loop back.
      {
        id: 'status',
        type: 'status',
        z: 'tab',
        scope: ['caseIn', 'manholeCases', 'alarmIn', 'gasIn', 'refused', 'query'],
        wires: [['statusPayload']],
      },
      setPayload('statusPayload', 'status', 'toStatus'),
      post('toStatus', '/status', 300, 280),
    ];
    // Node-RED tells flow nodes from config nodes by their position on the canvas.
    flows.forEach((n, i) => {
      if (n.z) Object.assign(n, { x: 100 + (i % 3) * 200, y: 40 * i });
    });
    const res = await admin('/flows', {
      method: 'POST',
      headers: { 'node-red-deployment-type': 'full' },
      body: JSON.stringify(flows),
    });
    expect(res.status).toBe(204);
    // Exported flows carry no credential; the flow file keeps them encrypted apart.
    const exported = await (await admin('/flows')).text();
    expect(exported).toContain('hub-config');
    expect(exported).not.toContain(operatorToken);
    expect(exported).not.toContain(servicePassword);
    await waitFor(
      () =>
        collector
          .of<{ text: string; source: { id: string } }>('/status')
          .find((s) => s.source.id === 'caseIn' && s.text.startsWith('connected')),
      'case in connected',
    );
  });

  it('shows a wrong token as a red status and an error, and keeps running', async () => {
    const refused = await waitFor(
      () =>
        collector
          .of<{ fill: string; shape: string; text: string; source: { id: string } }>('/status')
          .find((s) => s.source.id === 'refused' && s.fill === 'red'),
      'the refused status',
    );
    expect(refused).toMatchObject({ shape: 'ring' });
    expect(refused.text).toMatch(/refused/);
    await waitFor(
      () =>
        collector
          .of<{ message: string; source: { id: string } }>('/error')
          .find((e) => e.source.id === 'refused'),
      'the refusal as an error for Catch nodes',
    );
    expect((await admin('/nodes', { headers: { accept: 'application/json' } })).status).toBe(200);
  });

  it('turns an MQTT reading that breaks a rule into a case out of case in, and a reading out of telemetry in', async () => {
    const manhole = await connectDevice(t.mqttUrl, t.devices.manhole);
    const gas = await connectDevice(t.mqttUrl, t.devices.gas);
    clients.push(manhole, gas);
    await waitFor(
      () =>
        collector
          .of<{ text: string; source: { id: string } }>('/status')
          .find((s) => s.source.id === 'gasIn' && s.text.startsWith('connected')),
      'telemetry in connected',
    );
    // The device list of the type is read over REST once the node starts.
    await new Promise((r) => setTimeout(r, 500));
    await gas.publishAsync(
      `devices/${t.devices.gas.id}/telemetry`,
      JSON.stringify({ pressure: 3.02, ch4: 1.5 }),
      { qos: 1 },
    );
    await manhole.publishAsync(
      `devices/${t.devices.manhole.id}/telemetry`,
      JSON.stringify({ open: true, tilt: 0 }),
      { qos: 1 },
    );
    const reading = await waitFor(
      () => collector.of<{ ch4: number }>('/telemetry').find((r) => r.ch4 === 1.5),
      'the gas reading',
    );
    expect(reading).toEqual({ pressure: 3.02, ch4: 1.5 });
    const opened = await waitFor(
      () =>
        collector.of<CaseDetail>('/manhole-case').find((c) => c.deviceId === t.devices.manhole.id),
      'the manhole case',
    );
    expect(opened).toMatchObject({ facilityType: 'manhole', severity: 'critical' });
    // The filtered node let nothing else through.
    expect(
      collector.of<CaseDetail>('/manhole-case').every((c) => c.facilityType === 'manhole'),
    ).toBe(true);
  });

  it('turns the same rule-breaking reading into an opened alarm out of alarm in', async () => {
    const alarm = await waitFor(
      () =>
        collector
          .of<{ deviceId: string; ruleId: string; state: string }>('/alarm')
          .find((a) => a.deviceId === t.devices.manhole.id),
      'the manhole alarm',
    );
    expect(alarm).toMatchObject({ ruleId: 'manhole.displaced', state: 'open' });
  });

  it('answers a query with the hub devices of a type', async () => {
    expect((await admin('/inject/askDevices', { method: 'POST' })).status).toBe(200);
    const answer = await waitFor(
      () => collector.of<{ devices: { id: string; type: string }[] }>('/query')[0],
      'the query answer',
    );
    expect(answer.devices.map((d) => d.id)).toEqual([t.devices.gas.id]);
  });

  /** Adds nodes on a second tab and deploys only the changed flow. */
  const deployMore = async (nodes: Record<string, unknown>[]) => {
    const added = nodes.map((n, i) =>
      n.type === 'hub-config' ? n : { z: 'tab2', x: 100 + (i % 3) * 200, y: 40 * i, ...n },
    );
    flows = [
      ...flows.filter((n) => n.z !== 'tab2' && n.id !== 'tab2'),
      { id: 'tab2', type: 'tab', label: 'actions' },
      ...added,
      // Catch and Status nodes see their own tab only.
      {
        id: 'catch2',
        type: 'catch',
        z: 'tab2',
        scope: null,
        x: 700,
        y: 40,
        wires: [['errorPayload2']],
      },
      { ...setPayload('errorPayload2', 'error', 'toErrors2'), z: 'tab2', x: 700, y: 80 },
      { ...post('toErrors2', '/error', 700, 120), z: 'tab2' },
      {
        id: 'status2',
        type: 'status',
        z: 'tab2',
        scope: null,
        x: 900,
        y: 40,
        wires: [['statusPayload2']],
      },
      { ...setPayload('statusPayload2', 'status', 'toStatus2'), z: 'tab2', x: 900, y: 80 },
      { ...post('toStatus2', '/status', 900, 120), z: 'tab2' },
    ];
    const res = await admin('/flows', {
      method: 'POST',
      headers: { 'node-red-deployment-type': 'flows' },
      body: JSON.stringify(flows),
    });
    expect(res.status).toBe(204);
  };
  /** Presses an inject node's button once the runtime has started it. */
  const press = (id: string) =>
    waitFor(async () => {
      const res = await admin(`/inject/${id}`, { method: 'POST' });
      return res.status === 200 ? true : undefined;
    }, `inject ${id}`);

  it('sends a device command with an operator token and puts its acknowledgement on the first output, a refusal to Catch nodes', async () => {
    const pump = await connectDevice(t.mqttUrl, t.devices.pump_station);
    clients.push(pump);
    await pump.subscribeAsync(`devices/${t.devices.pump_station.id}/commands`, { qos: 1 });
    pump.on('message', (_topic, payload) => {
      const { id } = JSON.parse(payload.toString()) as { id: string };
      void pump.publishAsync(
        `devices/${t.devices.pump_station.id}/commands/ack`,
        JSON.stringify({ id, ok: true, result: { pump: 1, running: true } }),
        { qos: 1 },
      );
    });
    await deployMore([
      {
        id: 'goPump',
        type: 'inject',
        props: [{ p: 'payload' }],
        payload: '{"pump":1}',
        payloadType: 'json',
        wires: [['pumpStart']],
      },
      {
        id: 'pumpStart',
        type: 'hub-command',
        hub: 'cfg',
        deviceId: t.devices.pump_station.id,
        command: 'start',
        timeout: '10',
        wires: [['toAck'], ['toNack']],
      },
      { ...post('toAck', '/ack', 0, 0), z: 'tab2' },
      { ...post('toNack', '/nack', 0, 0), z: 'tab2' },
      {
        id: 'badCommand',
        type: 'inject',
        props: [{ p: 'payload' }],
        payload: '{}',
        payloadType: 'json',
        wires: [['explode']],
      },
      {
        id: 'explode',
        type: 'hub-command',
        hub: 'cfg',
        deviceId: t.devices.pump_station.id,
        command: 'explode',
        wires: [[], []],
      },
    ]);
    await press('goPump');
    const ack = await waitFor(
      () => collector.of<{ state: string; name: string; deviceId: string }>('/ack')[0],
      'the acknowledged command',
      30_000,
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}; status ${JSON.stringify(collector.of('/status').slice(-6))}; nack ${JSON.stringify(collector.of('/nack'))}; errors ${JSON.stringify(collector.of('/error'))}`,
      );
    });
    expect(ack).toMatchObject({
      state: 'acknowledged',
      name: 'start',
      deviceId: t.devices.pump_station.id,
    });
    expect(collector.of('/nack')).toEqual([]);

    await press('badCommand');
    const refused = await waitFor(
      () =>
        collector
          .of<{ message: string; source: { id: string } }>('/error')
          .find((e) => e.source.id === 'explode'),
      'the refused command at the Catch node',
    );
    expect(refused.message).toMatch(/HUB_ERR_COMMAND_UNKNOWN/);
  });

  it('closes a verified case with case action, checked over REST', async () => {
    const act = async (id: number, action: string, body: Record<string, unknown> = {}) => {
      const res = await hub(t.adminToken)(`${t.httpUrl}/api/cases/${id}/actions/${action}`, {
        method: 'POST',
        body: JSON.stringify(body),
      });
      expect(res.status, action).toBe(200);
      return ((await res.json()) as { case: CaseDetail }).case;
    };
    const res = await hub(t.adminToken)(`${t.httpUrl}/api/cases`, {
      method: 'POST',
      body: JSON.stringify({
        source: 'hotline',
        severity: 'minor',
        title: 'lamp out on the corner',
        facilityType: 'streetlight',
        gridCode: t.devices.streetlight.gridCode,
      }),
    });
    let c = (await res.json()) as CaseDetail;
    if (c.state === 'registered') c = await act(c.id, 'dispatch');
    c = await act(c.id, 'accept');
    c = await act(c.id, 'handle', { note: 'lamp replaced' });
    c = await act(c.id, 'verify');
    expect(c.state).toBe('verified');

    await deployMore([
      {
        id: 'closeIt',
        type: 'inject',
        props: [{ p: 'payload' }],
        payload: JSON.stringify({ id: c.id, version: c.version }),
        payloadType: 'json',
        wires: [['close']],
      },
      {
        id: 'close',
        type: 'hub-case-action',
        hub: 'cfg',
        action: 'close',
        note: 'closed by a flow',
        wires: [['toClosed']],
      },
      { ...post('toClosed', '/closed', 0, 0), z: 'tab2' },
    ]);
    await press('closeIt');
    const closed = await waitFor(() => collector.of<CaseDetail>('/closed')[0], 'the closed case');
    expect(closed).toMatchObject({ id: c.id, state: 'closed' });
    const after = await hub(t.adminToken)(`${t.httpUrl}/api/cases/${c.id}`);
    const detail = (await after.json()) as {
      case: CaseDetail;
      timeline: { action: string; actorName: string; note: string | null }[];
    };
    expect(detail.case.state).toBe('closed');
    const closes = detail.timeline.filter((e) => e.action === 'close');
    expect(closes, JSON.stringify(closes)).toHaveLength(1);
    expect(closes[0]).toMatchObject({ note: 'closed by a flow' });
    expect(closes[0]!.actorName).toMatch(/node-red/);

    // The same message again (a retried flow): the same key, the first outcome, no second close.
    await press('closeIt');
    await waitFor(
      () => (collector.of<CaseDetail>('/closed').length === 2 ? true : undefined),
      'the replayed outcome',
    );
    expect(collector.of<CaseDetail>('/closed')[1]).toMatchObject({ id: c.id, state: 'closed' });
    const again = await hub(t.adminToken)(`${t.httpUrl}/api/cases/${c.id}`);
    const { timeline } = (await again.json()) as { timeline: { action: string }[] };
    expect(timeline.filter((e) => e.action === 'close')).toHaveLength(1);
  });

  it('registers a case with case action once, however often the same report comes', async () => {
    const report = {
      source: 'other',
      severity: 'minor',
      title: 'reported by a vendor platform',
      facilityType: 'streetlight',
      gridCode: t.devices.streetlight.gridCode,
    };
    await deployMore([
      {
        id: 'report',
        type: 'inject',
        props: [{ p: 'payload' }],
        payload: JSON.stringify(report),
        payloadType: 'json',
        wires: [['register']],
      },
      {
        id: 'register',
        type: 'hub-case-action',
        hub: 'cfg',
        action: 'register',
        wires: [['toRegistered']],
      },
      { ...post('toRegistered', '/registered', 0, 0), z: 'tab2' },
    ]);
    await press('report');
    const first = await waitFor(
      () => collector.of<CaseDetail>('/registered')[0],
      'the registered case',
    );
    await press('report');
    const again = await waitFor(
      () => collector.of<CaseDetail>('/registered')[1],
      'the replayed registration',
    );
    expect(again.id).toBe(first.id);
    const res = await hub(t.adminToken)(
      `${t.httpUrl}/api/cases?q=${encodeURIComponent(report.title)}`,
    );
    const { cases } = (await res.json()) as { cases: CaseDetail[] };
    expect(cases.map((c) => c.id)).toEqual([first.id]);
  });

  it('resumes after the socket is cut mid-stream with no change lost and none twice', async () => {
    const register = (i: number) =>
      hub(t.adminToken)(`${t.httpUrl}/api/cases`, {
        method: 'POST',
        body: JSON.stringify({
          source: 'hotline',
          severity: 'minor',
          title: `burst ${i}`,
          facilityType: 'streetlight',
          gridCode: t.devices.streetlight.gridCode,
        }),
      }).then(async (r) => {
        expect(r.status).toBe(201);
        return (await r.json()) as CaseDetail;
      });
    // The alarm feed shares the socket: shelving and unshelving the open manhole alarm changes it.
    const cover = collector
      .of<{ id: number; deviceId: string }>('/alarm')
      .find((a) => a.deviceId === t.devices.manhole.id)!;
    const shelve = (i: number) =>
      hub(t.adminToken)(
        `${t.httpUrl}/api/alarms/${cover.id}/${i % 2 === 0 ? 'shelve' : 'unshelve'}`,
        { method: 'POST', body: JSON.stringify(i % 2 === 0 ? { minutes: 10 } : {}) },
      ).then((r) => expect(r.status).toBe(200));
    for (let i = 0; i < 20; i++) {
      await register(i);
      await shelve(i);
      if (i === 6 || i === 13) proxy.cut();
    }
    const all = await hub(t.adminToken)(`${t.httpUrl}/api/cases?limit=500`);
    const { cases } = (await all.json()) as { cases: CaseDetail[] };
    const latest = Math.max(...cases.map((c) => c.version));
    await waitFor(
      () =>
        collector.of<CaseDetail>('/case').some((c) => c.version === latest) ? true : undefined,
      'the last change through the node',
      30_000,
    );
    const versions = collector.of<CaseDetail>('/case').map((c) => c.version);
    expect(new Set(versions).size).toBe(versions.length);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    // Every version from the first delivered on: none missing.
    const first = versions[0]!;
    expect(versions).toEqual(Array.from({ length: latest - first + 1 }, (_, i) => first + i));
    // The same for the alarm feed, resumed by its own version (alarmsSinceVersion).
    const { alarms } = (await (
      await hub(t.adminToken)(`${t.httpUrl}/api/alarms?limit=500`)
    ).json()) as { alarms: { version: number }[] };
    const lastAlarm = Math.max(...alarms.map((a) => a.version));
    await waitFor(
      () =>
        collector.of<{ version: number }>('/alarm').some((a) => a.version === lastAlarm)
          ? true
          : undefined,
      'the last alarm change through the node',
      30_000,
    );
    const alarmVersions = collector.of<{ version: number }>('/alarm').map((a) => a.version);
    expect(new Set(alarmVersions).size).toBe(alarmVersions.length);
    const firstAlarm = alarmVersions[0]!;
    expect([...alarmVersions].sort((a, b) => a - b)).toEqual(
      Array.from({ length: lastAlarm - firstAlarm + 1 }, (_, i) => firstAlarm + i),
    );
    const reconnects = collector
      .of<{ text: string; source: { id: string } }>('/status')
      .filter((s) => s.source.id === 'caseIn' && s.text.startsWith('reconnecting'));
    expect(reconnects.length).toBeGreaterThan(0);
  }, 180_000);
});
