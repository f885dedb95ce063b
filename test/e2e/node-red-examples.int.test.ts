import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageDir } from '../../scripts/node-red.js';
import { authed, connectDevice, startTestHub, waitFor, type TestHub } from '../support/hub.js';
import { startRobots, startTestNodeRed, type RobotCall } from '../support/node-red.js';

const servicePassword = 'node-red-examples-service';
const dingtalkToken = 'dingtalk-access-token';
const dingtalkSecret = 'SEC0123456789abcdef-test-secret';
const wecomKey = 'wecom-robot-key';

type FlowNode = Record<string, unknown> & { id: string; type: string; z?: string };

/**
 * The example flows the package ships (node-red/examples/, issue #14), run as
 * a city would run them: imported unchanged into a real Node-RED 4.1 runtime,
 * their hub config node pointed at a real hub and their robot endpoints, by
 * the flow's environment variables, at a local stand-in for DingTalk and WeCom.
 */
describe('the example flows in a real Node-RED runtime', () => {
  let t: TestHub;
  let nodeRed: Awaited<ReturnType<typeof startTestNodeRed>>;
  let robots: Awaited<ReturnType<typeof startRobots>>;
  let operatorToken = '';
  let viewerToken = '';
  const clients: MqttClient[] = [];

  const admin = (p: string, init: RequestInit = {}) => nodeRed.admin(p, init);

  const robotEnv = {
    DINGTALK_URL: '', // set once the stand-in listens
    DINGTALK_TOKEN: dingtalkToken,
    DINGTALK_SECRET: dingtalkSecret,
    WECOM_URL: '',
    WECOM_KEY: wecomKey,
  };

  /**
   * Deploys one example (a full deployment: the previous one stops) with its
   * hub config node's URL and credentials and its tab's environment set, as a
   * city does in the editor. Only test observers are added: a Status node on
   * the hub's nodes and a Catch node, reporting to the stand-in.
   */
  const deployExample = async (
    file: string,
    env: Record<string, string>,
    token: string,
  ): Promise<FlowNode[]> => {
    const flow = JSON.parse(
      await readFile(path.join(packageDir, 'examples', file), 'utf8'),
    ) as FlowNode[];
    const tab = flow.find((n) => n.type === 'tab')!;
    const hubNodes = flow.filter((n) => n.type.startsWith('hub-') && n.z).map((n) => n.id);
    for (const n of flow) {
      if (n.type === 'hub-config') {
        Object.assign(n, {
          url: t.httpUrl,
          mqttUrl: t.mqttUrl,
          credentials: { token, mqttPassword: servicePassword },
        });
      }
    }
    tab.env = Object.entries(env).map(([name, value]) => ({ name, value, type: 'str' }));
    const observe = (id: string, what: 'status' | 'error', scope: string[] | null) => [
      {
        id: `${id}Of`,
        type: what === 'status' ? 'status' : 'catch',
        z: tab.id,
        scope,
        x: 200,
        y: 400,
        wires: [[`${id}Set`]],
      },
      {
        id: `${id}Set`,
        type: 'change',
        z: tab.id,
        rules: [{ t: 'set', p: 'payload', pt: 'msg', to: what, tot: 'msg' }],
        x: 400,
        y: 400,
        wires: [[`${id}Post`]],
      },
      {
        id: `${id}Post`,
        type: 'http request',
        z: tab.id,
        method: 'POST',
        ret: 'txt',
        paytoqs: 'ignore',
        url: `${robots.url}/test/${what}`,
        x: 600,
        y: 400,
        wires: [[]],
      },
    ];
    const deployed = [
      ...flow,
      ...observe('testStatus', 'status', hubNodes),
      ...observe('testError', 'error', null),
    ];
    current = new Set(flow.map((n) => n.id));
    const res = await admin('/flows', {
      method: 'POST',
      headers: { 'node-red-deployment-type': 'full' },
      body: JSON.stringify(deployed),
    });
    expect(res.status, await res.text()).toBe(204);
    return flow;
  };

  const statuses = () =>
    robots
      .to('/test/status')
      .map((c) => c.body as unknown as { text: string; fill: string; source: { id: string } });
  const connected = (id: string) =>
    waitFor(
      () => statuses().find((s) => s.source.id === id && s.text.startsWith('connected')),
      `${id} connected`,
    );
  /** The nodes of the example deployed now: errors of an earlier one may still arrive. */
  let current = new Set<string>();
  const errors = () =>
    robots
      .to('/test/error')
      .map((c) => c.body as unknown as { message: string; source: { id: string } })
      .filter((e) => current.has(e.source.id));
  const wecom = () => robots.to('/wecom/send');
  const content = (c: RobotCall) => c.body.markdown.content ?? '';

  beforeAll(async () => {
    t = await startTestHub({
      MQTT_SERVICE_PASSWORD: servicePassword,
      CASE_TICK_INTERVAL_MS: '3600000',
    });
    const token = async (name: string, role: string) => {
      const res = await authed(t.adminToken)(`${t.httpUrl}/api/integration-tokens`, {
        method: 'POST',
        body: JSON.stringify({ name, role }),
      });
      expect(res.status).toBe(201);
      return ((await res.json()) as { token: string }).token;
    };
    operatorToken = await token('node-red', 'operator');
    viewerToken = await token('node-red-viewer', 'viewer');
    robots = await startRobots();
    robotEnv.DINGTALK_URL = `${robots.url}/dingtalk/robot/send`;
    robotEnv.WECOM_URL = `${robots.url}/wecom/send`;
    nodeRed = await startTestNodeRed();
  });
  afterAll(async () => {
    for (const c of clients) c.end(true);
    await nodeRed?.stop();
    await robots?.close();
    await t?.stop();
  });

  it('critical alarm → group robot: readings that break a rule at critical post a signed DingTalk message and a WeCom message', async () => {
    await deployExample('critical-alarm-to-group-robot.json', robotEnv, operatorToken);
    await connected('a1');
    const gauge = await connectDevice(t.mqttUrl, t.devices.waterlogging);
    const manhole = await connectDevice(t.mqttUrl, t.devices.manhole);
    clients.push(gauge, manhole);
    const openAlarms = async () => {
      const res = await authed(operatorToken)(`${t.httpUrl}/api/alarms?state=open`);
      return (await res.json()) as {
        alarms: { source: string; severity: string; title: string; lastValue: unknown }[];
      };
    };
    const alarmOf = async (source: string, severity: string) =>
      (await openAlarms()).alarms.find((a) => a.source === source && a.severity === severity);
    const dingtalk = () => robots.to('/dingtalk/robot/send');
    const about = (calls: RobotCall[], id: string) =>
      calls.filter((c) => JSON.stringify(c.body).includes(id));

    // 30 cm of water: a major alarm, which the example keeps out of the groups …
    await gauge.publishAsync(
      `devices/${t.devices.waterlogging.id}/telemetry`,
      JSON.stringify({ depth: 30 }),
      { qos: 1 },
    );
    await waitFor(() => alarmOf(t.devices.waterlogging.id, 'major'), 'the major alarm');
    // … until the same alarm rises to critical (45 cm ≥ 40 cm): a severity change, not an opening.
    const before = Date.now();
    await gauge.publishAsync(
      `devices/${t.devices.waterlogging.id}/telemetry`,
      JSON.stringify({ depth: 45 }),
      { qos: 1 },
    );
    const risen = await waitFor(
      () => about(dingtalk(), t.devices.waterlogging.id)[0],
      'the DingTalk message of the risen alarm',
    ).catch((err: Error) => {
      throw new Error(`${err.message}; errors ${JSON.stringify(errors())}`);
    });
    const after = Date.now();
    expect(risen.body.markdown.text).toContain('告警升级为紧急');
    expect(risen.body.markdown.text).toContain('45');
    // A displaced manhole cover opens a critical alarm.
    await manhole.publishAsync(
      `devices/${t.devices.manhole.id}/telemetry`,
      JSON.stringify({ open: true, tilt: 0 }),
      { qos: 1 },
    );
    const opened = await waitFor(
      () => about(dingtalk(), t.devices.manhole.id)[0],
      'the DingTalk message of the opened alarm',
    );
    const cover = (await alarmOf(t.devices.manhole.id, 'critical'))!;
    expect(opened.body.markdown.title).toContain(cover.title);
    expect(opened.body.markdown.text).toContain('紧急告警 Critical alarm');

    // The signature, as DingTalk's custom robot docs define it (加签): timestamp in ms,
    // HMAC-SHA256 keyed with the secret over timestamp + "\n" + secret, base64, URL-encoded.
    for (const ding of [risen, opened]) {
      expect(ding.query.get('access_token')).toBe(dingtalkToken);
      const timestamp = Number(ding.query.get('timestamp'));
      expect(timestamp).toBeGreaterThanOrEqual(before);
      const expected = createHmac('sha256', dingtalkSecret)
        .update(`${timestamp}\n${dingtalkSecret}`, 'utf8')
        .digest('base64');
      expect(ding.query.get('sign')).toBe(expected);
      expect(ding.rawQuery).toContain(`sign=${encodeURIComponent(expected)}`);
      expect(ding.contentType).toMatch(/^application\/json/);
      expect(ding.body.msgtype).toBe('markdown');
    }
    expect(Number(risen.query.get('timestamp'))).toBeLessThanOrEqual(after);

    // WeCom: the key in the URL, a markdown message of at most 4,096 bytes.
    for (const id of [t.devices.waterlogging.id, t.devices.manhole.id]) {
      const wc = await waitFor(() => about(wecom(), id)[0], `the WeCom message about ${id}`);
      expect(wc.query.get('key')).toBe(wecomKey);
      expect(wc.contentType).toMatch(/^application\/json/);
      expect(wc.body).toEqual({ msgtype: 'markdown', markdown: { content: expect.any(String) } });
      expect(Buffer.byteLength(content(wc))).toBeLessThanOrEqual(4096);
    }
    expect(content(about(wecom(), t.devices.manhole.id)[0]!)).toContain(cover.title);

    // One message per group and alarm: the major stage reached neither group.
    expect(about(dingtalk(), t.devices.waterlogging.id)).toHaveLength(1);
    expect(about(wecom(), t.devices.waterlogging.id)).toHaveLength(1);
    expect(errors()).toEqual([]);
  });
  /** A simulated pump station that acknowledges every command it gets over MQTT. */
  const startPump = async () => {
    const pump = await connectDevice(t.mqttUrl, t.devices.pump_station);
    clients.push(pump);
    const received: { id: string; name: string; args: Record<string, unknown> }[] = [];
    await pump.subscribeAsync(`devices/${t.devices.pump_station.id}/commands`, { qos: 1 });
    pump.on('message', (_topic, payload) => {
      const command = JSON.parse(payload.toString()) as (typeof received)[number];
      received.push(command);
      void pump.publishAsync(
        `devices/${t.devices.pump_station.id}/commands/ack`,
        JSON.stringify({ id: command.id, ok: true, result: { ...command.args, running: true } }),
        { qos: 1 },
      );
    });
    return { pump, received };
  };

  /** Heavy rain at the gauge until `done` says the flow acted (the node reads its device list first). */
  const rainUntil = async (done: () => unknown, what: string) => {
    const gauge = await connectDevice(t.mqttUrl, t.devices.waterlogging);
    clients.push(gauge);
    await waitFor(async () => {
      if (done()) return true;
      await gauge.publishAsync(
        `devices/${t.devices.waterlogging.id}/telemetry`,
        JSON.stringify({ rain_mm_h: 42, depth: 8 }),
        { qos: 1 },
      );
      await new Promise((r) => setTimeout(r, 400));
      return done() ? true : undefined;
    }, what);
    gauge.end(true);
  };

  it('rain gauge → pump start: heavy rain starts the pump with an operator token and the device acknowledgement goes to the group', async () => {
    const { received } = await startPump();
    const env = {
      PUMP_STATION_ID: t.devices.pump_station.id,
      WECOM_URL: robotEnv.WECOM_URL,
      WECOM_KEY: wecomKey,
    };
    await deployExample('rain-gauge-to-pump-start.json', env, operatorToken);
    await connected('b1');
    const sent = wecom().length;
    await rainUntil(() => received.length > 0, 'the pump start command');
    expect(received[0]).toMatchObject({ name: 'start', args: { pump: 1 } });

    const confirmation = await waitFor(
      () =>
        wecom()
          .slice(sent)
          .find((c) => content(c).includes('泵站已启动')),
      'the confirmation in the WeCom group',
      45_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; errors ${JSON.stringify(errors())}`);
    });
    expect(content(confirmation)).toContain(t.devices.pump_station.id);
    expect(content(confirmation)).toContain('acknowledged');
    expect(content(confirmation)).toContain('"running":true');
    expect(content(confirmation)).toContain(t.devices.waterlogging.id);

    // The hub holds the command as acknowledged, sent by the token, and audited under its name.
    const list = await authed(operatorToken)(
      `${t.httpUrl}/api/devices/${t.devices.pump_station.id}/commands`,
    );
    const { commands } = (await list.json()) as { commands: { id: string; state: string }[] };
    expect(commands.find((c) => c.id === received[0]!.id)?.state).toBe('acknowledged');
    const audit = await authed(t.adminToken)(
      `${t.httpUrl}/api/audit?username=${encodeURIComponent('token:node-red')}&action=commands`,
    );
    const { entries } = (await audit.json()) as {
      entries: { action: string; outcome: string; target: string | null }[];
    };
    expect(entries).toContainEqual(
      expect.objectContaining({
        action: 'POST /api/devices/:id/commands',
        target: t.devices.pump_station.id,
        outcome: 'ok',
      }),
    );
    // At most one start in 10 minutes, however long it rains.
    expect(received).toHaveLength(1);
  });

  it('rain gauge → pump start: a viewer token is refused and the group hears why', async () => {
    const { received } = await startPump();
    const env = {
      PUMP_STATION_ID: t.devices.pump_station.id,
      WECOM_URL: robotEnv.WECOM_URL,
      WECOM_KEY: wecomKey,
    };
    await deployExample('rain-gauge-to-pump-start.json', env, viewerToken);
    await connected('b1');
    const sent = wecom().length;
    const refusal = () =>
      wecom()
        .slice(sent)
        .find((c) => content(c).includes('未确认'));
    await rainUntil(refusal, 'the refusal in the WeCom group');
    expect(content(refusal()!)).toMatch(/refused/);
    expect(content(refusal()!)).toContain('operator');
    expect(content(refusal()!)).toContain('HUB_ERR_FORBIDDEN');
    expect(received).toEqual([]);
  });

  it('daily KPI digest: its inject node, pressed through the admin API, posts the hub’s KPIs per district', async () => {
    await deployExample(
      'daily-kpi-digest.json',
      { WECOM_URL: robotEnv.WECOM_URL, WECOM_KEY: wecomKey },
      operatorToken,
    );
    const sent = wecom().length;
    await waitFor(async () => {
      const res = await admin('/inject/c1', { method: 'POST' });
      return res.status === 200 ? true : undefined;
    }, 'the inject button');
    const digest = await waitFor(
      () =>
        wecom()
          .slice(sent)
          .find((c) => content(c).includes('每日设施考核')),
      'the digest',
    ).catch((err: Error) => {
      throw new Error(`${err.message}; errors ${JSON.stringify(errors())}`);
    });
    const res = await authed(operatorToken)(`${t.httpUrl}/api/kpis/facilities?level=district`);
    const { rows } = (await res.json()) as {
      rows: { name: string; facilities: number; integrityRate: number | null }[];
    };
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(content(digest)).toContain(`${r.name}：设施 ${r.facilities} 个`);
      if (r.integrityRate !== null)
        expect(content(digest)).toContain(
          `完好率 integrity ${(r.integrityRate * 100).toFixed(1)}%`,
        );
    }
    expect(errors()).toEqual([]);
  });
});
