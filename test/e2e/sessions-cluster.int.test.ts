import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authed,
  connectLive,
  createUsers,
  login,
  startOtherNode,
  startTestHub,
  testPassword,
  type TestHub,
} from '../support/hub.js';
import { machineRedisUrl, redisReachable, redisTestPrefix } from '../support/redis.js';

const reachable = await redisReachable();

/**
 * Sessions across API processes (#6): a session ended or a user changed
 * through node A reaches that user's live connections on node B at once
 * (NOTIFY hub_sessions_ended), with the reason node A would give. The session
 * sweep is a day long, so only the notification can do it.
 */
describe.skipIf(!reachable)('session ends across two hub nodes', () => {
  const { prefix, cleanUp } = redisTestPrefix();
  const env = {
    REDIS_URL: machineRedisUrl,
    REDIS_KEY_PREFIX: prefix,
    CASE_TICK_INTERVAL_MS: '3600000',
    SESSION_SWEEP_INTERVAL_MS: '86400000',
  };
  let a: TestHub;
  let b: Awaited<ReturnType<typeof startOtherNode>>;
  let users: Record<string, { id: number; token: string }>;
  const sockets: Awaited<ReturnType<typeof connectLive>>['socket'][] = [];

  beforeAll(async () => {
    a = await startTestHub(env);
    b = await startOtherNode(a, env);
    users = await createUsers(a.httpUrl, a.adminToken, [
      { username: 'view1', role: 'viewer' },
      { username: 'op1', role: 'operator' },
      { username: 'sup1', role: 'supervisor' },
    ]);
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await b?.stop();
    await a?.stop();
    await cleanUp();
  });

  /** A control room on node B: why its session ended, and that it was closed. */
  async function liveOnB(token: string) {
    const live = await connectLive(b.httpUrl, token);
    sockets.push(live.socket);
    return live;
  }
  const admin = () => authed(a.adminToken);

  it('ends a user disabled through node A on node B at once', async () => {
    const onB = await liveOnB(users['view1']!.token);
    const res = await admin()(`${a.httpUrl}/api/users/${users['view1']!.id}/disable`, {
      method: 'POST',
    });
    expect(res.status).toBe(200);
    expect(await onB.ended).toBe('disabled');
    expect(await onB.closed).toBe('io server disconnect');
  });

  it('carries a password reset, a logout and a role change to node B', async () => {
    const reset = await liveOnB(users['op1']!.token);
    await admin()(`${a.httpUrl}/api/users/${users['op1']!.id}/password`, {
      method: 'POST',
      body: JSON.stringify({ password: 'reset-by-the-admin' }),
    });
    expect(await reset.ended).toBe('password_reset');

    const token = await login(a.httpUrl, 'sup1', testPassword('sup1'));
    const loggedOut = await liveOnB(token);
    const kept = await liveOnB(users['sup1']!.token);
    await authed(token)(`${a.httpUrl}/api/auth/logout`, { method: 'POST' });
    expect(await loggedOut.ended).toBe('logout');

    // The other session of sup1 stays valid; its live connection re-subscribes by the new role.
    const patched = await admin()(`${a.httpUrl}/api/users/${users['sup1']!.id}`, {
      method: 'PATCH',
      body: JSON.stringify({ role: 'operator' }),
    });
    expect(patched.status).toBe(200);
    expect(await kept.ended).toBe('user_changed');
    expect((await authed(users['sup1']!.token)(`${b.httpUrl}/api/auth/me`)).status).toBe(200);
  });
});
