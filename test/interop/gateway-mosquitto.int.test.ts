import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/broker/index.js';
import { startTestBroker, type Received, type TestDevice } from '../support/broker.js';
import { waitFor } from '../support/hub.js';
import { selfSignedPair } from '../support/tls.js';
import { findTool } from '../support/tools.js';

const run = promisify(execFile);
const pub = findTool('mosquitto_pub', 'apt-get install mosquitto-clients (.ci/run does)');
const sub = findTool('mosquitto_sub', 'apt-get install mosquitto-clients (.ci/run does)');
const lamp: TestDevice = {
  id: 'SL-M0001',
  secret: 'lamp-secret-m001-long-enough',
  type: 'streetlight',
};
const servicePassword = 'mosquitto-service-password';

/** Debian's mosquitto-clients against the gateway's listeners and rules (#6). */
describe.skipIf(!pub || !sub)('mosquitto-clients against the device gateway', () => {
  const pair = selfSignedPair();
  let broker: Broker;
  let received: Received[];
  const device = () => ['-u', lamp.id, '-P', lamp.secret, '-i', lamp.id];

  beforeAll(async () => {
    ({ broker, received } = await startTestBroker([lamp], {
      servicePassword,
      ...(pair ? { tls: { port: 0, certFile: pair.certFile, keyFile: pair.keyFile } } : {}),
    }));
  });
  afterAll(async () => {
    await broker?.close();
    if (pair) await rm(pair.dir, { recursive: true, force: true });
  });

  const tcp = () => ['-h', '127.0.0.1', '-p', String(broker.port), '-V', 'mqttv311'];

  it.skipIf(!pair)('publishes over MQTT/TLS with mosquitto_pub --cafile', async () => {
    await run(pub!, [
      '-h',
      '127.0.0.1',
      '-p',
      String(broker.ports.mqtts),
      '--cafile',
      pair!.certFile,
      '-V',
      'mqttv311',
      ...device(),
      '-q',
      '1',
      '-t',
      `devices/${lamp.id}/telemetry`,
      '-m',
      '{"on":true,"via":"tls"}',
    ]);
    await waitFor(
      () => (received.some((r) => r.payload.includes('"via":"tls"')) ? true : undefined),
      'the TLS reading',
    );
  });

  it('lets mosquitto_sub on a service account watch devices/+/telemetry', async () => {
    const watching = run(sub!, [
      ...tcp(),
      '-u',
      'service:ops',
      '-P',
      servicePassword,
      '-t',
      'devices/+/telemetry',
      '-C',
      '1',
      '-W',
      '10',
      '-v',
    ]);
    // Publish until the subscriber is up and has seen one (bounded).
    for (let i = 0; i < 20; i++) {
      await run(pub!, [
        ...tcp(),
        ...device(),
        '-t',
        `devices/${lamp.id}/telemetry`,
        '-m',
        `{"dim":${i}}`,
      ]);
      const done = await Promise.race([
        watching.then(() => true),
        new Promise((r) => setTimeout(r, 200, false)),
      ]);
      if (done) break;
    }
    const { stdout } = await watching;
    expect(stdout).toMatch(new RegExp(`^devices/${lamp.id}/telemetry \\{"dim":\\d+\\}`));
  });

  it('refuses mosquitto_pub speaking MQTT 5 with "unacceptable protocol version"', async () => {
    const result = await run(pub!, [
      '-h',
      '127.0.0.1',
      '-p',
      String(broker.port),
      '-V',
      'mqttv5',
      ...device(),
      '-t',
      `devices/${lamp.id}/telemetry`,
      '-m',
      '{}',
    ]).then(
      () => 'accepted',
      (err: { stderr: string }) => err.stderr,
    );
    expect(result).toMatch(/unacceptable protocol version|unsupported protocol version/i);
  });

  it('refuses mosquitto_pub with a last will on another device topic', async () => {
    const result = await run(pub!, [
      ...tcp(),
      ...device(),
      '--will-topic',
      'devices/OTHER/status',
      '--will-payload',
      'x',
      '-t',
      `devices/${lamp.id}/telemetry`,
      '-m',
      '{}',
    ]).then(
      () => 'accepted',
      (err: { stderr: string }) => err.stderr,
    );
    expect(result).toMatch(/not authori[sz]ed/i);
  });
});
