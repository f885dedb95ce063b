import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectDevice,
  createUsers,
  startTestHub,
  testPassword,
  type TestHub,
} from '../support/hub.js';

/**
 * Login floods (#17): attempts are counted before scrypt runs, so a burst of
 * wrong passwords for one user verifies at most the lockout's number of
 * hashes; and people's password hashing runs on its own bounded queue, so a
 * flood of logins never holds a device's CONNACK back.
 */
describe('a flood of logins', () => {
  let t: TestHub;
  const clients: MqttClient[] = [];
  const login = (username: string, password: string) =>
    fetch(`${t.httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    }).then(async (res) => ({
      status: res.status,
      code: ((await res.json()) as { code?: string }).code,
    }));

  beforeAll(async () => {
    t = await startTestHub({
      DEMO_DEVICE_COUNT: '40',
      MQTT_PERSISTENCE: 'memory',
      // Every request comes from 127.0.0.1 here: lift the per-address limit and the queue bound
      // so the per-user limit and a long flood are what is tested.
      LOGIN_MAX_FAILURES_PER_ADDRESS: '100000',
      LOGIN_HASH_QUEUE_MAX: '1000',
    });
    await createUsers(t.httpUrl, t.adminToken, [{ username: 'op-storm', role: 'operator' }]);
  }, 120_000);
  afterAll(async () => {
    for (const c of clients) c.end(true);
    await t?.stop();
  }, 120_000);

  it('verifies at most five of 200 parallel wrong passwords for one user, and then refuses the right one', async () => {
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => login('op-storm', `wrong-guess-${i}`)),
    );
    const checked = answers.filter((a) => a.status === 401);
    const refused = answers.filter((a) => a.status === 429);
    // Each 401 is one scrypt verification; every other attempt was refused before any.
    expect(checked.length).toBeGreaterThan(0);
    expect(checked.length).toBeLessThanOrEqual(5);
    expect(checked.length + refused.length).toBe(200);
    expect(refused.every((a) => a.code === 'HUB_ERR_TOO_MANY_LOGINS')).toBe(true);
    expect(await login('op-storm', testPassword('op-storm'))).toMatchObject({
      status: 429,
      code: 'HUB_ERR_TOO_MANY_LOGINS',
    });
  });

  it('connects every device while 200 logins with unknown usernames are still being checked', async () => {
    const devices = t.hub.demoCredentials!;
    let answered = 0;
    const flood = Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        login(`nobody-${i}`, 'not-a-password').then((a) => {
          answered++;
          return a.status;
        }),
      ),
    );
    // Give the flood a head start: its hashes are queued before the first CONNECT.
    await new Promise((r) => setTimeout(r, 200));
    for (const d of devices) clients.push(await connectDevice(t.mqttUrl, d));
    const answeredWhenAllConnected = answered;
    const statuses = await flood;
    expect(clients.filter((c) => c.connected)).toHaveLength(devices.length);
    // Every device had its CONNACK before the login flood was over.
    expect(answeredWhenAllConnected).toBeLessThan(200);
    expect(statuses.every((s) => s === 401)).toBe(true);
    // scrypt at N = 2^15, one at a time on two cores at a lower priority: tens of seconds.
  }, 600_000);
});
