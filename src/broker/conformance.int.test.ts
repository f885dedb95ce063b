import net from 'node:net';
import type { MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  asDevice,
  closed,
  connectClient,
  startTestBroker,
  subackCodes,
  type TestDevice,
} from '../../test/support/broker.js';
import { waitFor } from '../../test/support/hub.js';
import type { Broker } from './index.js';

/** MQTT details found by the paho interoperability suite and raw probes (#17). */
const lamp: TestDevice = {
  id: 'SL-K0001',
  secret: 'lamp-secret-conformance-01',
  type: 'streetlight',
};
const gas: TestDevice = { id: 'GS-K0001', secret: 'gas-secret-conformance-001', type: 'gas' };
const servicePassword = 'service-password-for-tests';

describe('MQTT conformance and limits', () => {
  let broker: Broker;
  let url: string;
  const lines: { msg: string; suppressed?: number; clientId?: string }[] = [];
  const clients: MqttClient[] = [];
  const track = (c: MqttClient) => (clients.push(c), c);

  beforeAll(async () => {
    const logger = pino(
      { level: 'warn' },
      { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) },
    );
    ({ broker } = await startTestBroker(
      [lamp, gas],
      { servicePassword, maxPayloadBytes: 1024 },
      logger,
    ));
    url = `mqtt://127.0.0.1:${broker.port}`;
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.end(true);
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('refuses an empty client id with clean session 0 with CONNACK 0x02, and accepts it with clean session 1', async () => {
    // Neither mqtt.js nor mqtt-packet will send it: the CONNECT is built by hand.
    expect(await rawConnack(broker.port, { clientId: '', clean: false })).toBe(2);
    expect(await rawConnack(broker.port, { clientId: lamp.id, clean: false })).toBe(0);
    const fresh = track(await connectClient(url, { ...asDevice(lamp), clientId: '', clean: true }));
    expect(fresh.connected).toBe(true);
  });

  it('applies the payload limit to service accounts too', async () => {
    const before = broker.counters.oversize;
    const service = track(
      await connectClient(url, {
        clientId: 'svc-big',
        username: 'service:rules',
        password: servicePassword,
      }),
    );
    const gone = closed(service);
    service.publish(`devices/${gas.id}/commands`, Buffer.alloc(2048, 'x'), { qos: 1 });
    await gone;
    expect(broker.counters.oversize).toBe(before + 1);
    // Within the limit a service's command still goes out.
    const ok = track(
      await connectClient(url, {
        clientId: 'svc-ok',
        username: 'service:rules',
        password: servicePassword,
      }),
    );
    await ok.publishAsync(`devices/${gas.id}/commands`, '{"command":"close_valve"}', { qos: 1 });
  });

  it('writes a few warning lines for 1,000 refused subscriptions of one client, and counts the rest', async () => {
    const device = track(await connectClient(url, asDevice(gas)));
    const refusedBefore = lines.filter((l) => l.msg === 'subscription refused').length;
    const topics = Array.from({ length: 1000 }, (_, i) => `devices/OTHER-${i}/commands`);
    const codes = await subackCodes(device, topics);
    expect(codes.filter((c) => c === 128)).toHaveLength(1000);
    const refusedLines =
      lines.filter((l) => l.msg === 'subscription refused').length - refusedBefore;
    expect(refusedLines).toBeGreaterThan(0);
    expect(refusedLines).toBeLessThanOrEqual(5);
    expect(broker.counters.suppressedWarnings).toBeGreaterThanOrEqual(1000 - refusedLines);
    // Its disconnect says how many lines were left out.
    device.end(true);
    await waitFor(
      () =>
        lines.find((l) => l.clientId === gas.id && (l.suppressed ?? 0) >= 995) ? true : undefined,
      'the suppressed-lines summary',
    );
  });

  it('reports open connections, and connects since start apart', async () => {
    await waitFor(() => (broker.counters.connections === 0 ? true : undefined), 'no connection');
    const connects = broker.counters.connects;
    const a = track(await connectClient(url, asDevice(lamp)));
    track(await connectClient(url, asDevice(gas)));
    expect(broker.counters.connections).toBe(2);
    await a.endAsync();
    await waitFor(() => (broker.counters.connections === 1 ? true : undefined), 'one open');
    expect(broker.counters.connects).toBe(connects + 2);
  });
});

/** The CONNACK return code a raw MQTT 3.1.1 CONNECT of the lamp gets. */
function rawConnack(port: number, opts: { clientId: string; clean: boolean }): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (packet: { cmd: string; returnCode?: number }) => {
      if (packet.cmd !== 'connack') return;
      socket.destroy();
      resolve(packet.returnCode ?? -1);
    });
    socket.on('data', (d) => parser.parse(d));
    socket.on('error', reject);
    const str = (v: string | Buffer) => {
      const b = Buffer.from(v);
      return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
    };
    // Username, password, and clean session when asked [MQTT-3.1.2].
    const flags = 0x80 | 0x40 | (opts.clean ? 0x02 : 0);
    const body = Buffer.concat([
      str('MQTT'),
      Buffer.from([4, flags, 0, 30]),
      str(opts.clientId),
      str(lamp.id),
      str(lamp.secret),
    ]);
    // Remaining length below 128: one byte.
    socket.write(Buffer.concat([Buffer.from([0x10, body.length]), body]));
  });
}
