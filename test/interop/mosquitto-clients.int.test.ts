import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, waitFor, type TestHub } from '../support/hub.js';
import { findTool } from '../support/tools.js';

const run = promisify(execFile);
const pub = findTool('mosquitto_pub', 'apt-get install mosquitto-clients (.ci/run does)');
const sub = findTool('mosquitto_sub', 'apt-get install mosquitto-clients (.ci/run does)');

/** A stock MQTT client, as a newcomer would use it from the README. */
describe.skipIf(!pub || !sub)('Debian mosquitto-clients against the hub', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub();
  });
  afterAll(async () => {
    await t?.stop();
  });

  const args = (d: { id: string; secret: string }) => [
    '-h',
    '127.0.0.1',
    '-p',
    String(t.hub.mqttPort),
    '-u',
    d.id,
    '-P',
    d.secret,
    '-V',
    'mqttv311',
  ];

  it('stores a reading sent with mosquitto_pub and the device credentials', async () => {
    const w = t.devices.waterlogging;
    await run(pub!, [
      ...args(w),
      '-q',
      '1',
      '-t',
      `devices/${w.id}/telemetry`,
      '-m',
      '{"depth": 4.5, "rain_mm_h": 12}',
    ]);
    const rows = await waitFor(async () => {
      const r = await t.hub.db.pool.query('SELECT data FROM telemetry WHERE device_id = $1', [
        w.id,
      ]);
      return r.rows.length ? r.rows : undefined;
    }, 'the reading');
    expect(rows[0].data).toEqual({ depth: 4.5, rain_mm_h: 12 });
  });

  it('refuses mosquitto_pub with a wrong password', async () => {
    const w = t.devices.waterlogging;
    const result = await run(pub!, [
      ...args({ id: w.id, secret: 'wrong' }),
      '-t',
      `devices/${w.id}/telemetry`,
      '-m',
      '{}',
    ]).then(
      () => 'accepted',
      (err: { stderr: string }) => err.stderr,
    );
    expect(result).toMatch(/not authori[sz]ed|bad user name or password|refused/i);
  });

  it('gets SUBACK 128 from mosquitto_sub on a wildcard and on another device commands', async () => {
    const w = t.devices.waterlogging;
    for (const topic of ['devices/#', `devices/${t.devices.gas.id}/commands`]) {
      const { stdout, stderr } = await run(sub!, [
        ...args(w),
        '-d',
        '-t',
        topic,
        '-C',
        '1',
        '-W',
        '3',
      ]);
      expect(stdout, topic).toContain('Subscribed (mid: 1): 128');
      expect(stderr, topic).toContain('All subscription requests were denied');
    }
  });
});
