import type { MqttClient } from 'mqtt';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUserEnabled, updateUser } from '../../src/db/index.js';
import type {
  CaseDetail,
  ClientToServerEvents,
  ServerToClientEvents,
} from '../../src/domain/index.js';
import {
  authed,
  connectDevice,
  connectLive,
  createUsers,
  lightingAreas,
  login,
  startTestHub,
  waitFor,
  testPassword,
  type TestHub,
} from '../support/hub.js';

type Fetch = ReturnType<typeof authed>;
type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * What a city's admin does through the API (decision 0109): departments,
 * crews, the dispatch routing table, deadlines and case policies, applied to
 * the next case without a restart; users changed, disabled and reset, with
 * their sessions ended at once over REST and socket.io; other roles refused
 * and audited.
 */
describe('city administration through REST and socket.io', () => {
  let t: TestHub;
  let admin: Fetch;
  const as: Record<string, Fetch> = {};
  const tokens: Record<string, string> = {};
  const ids: Record<string, number> = {};
  const sockets: Client[] = [];
  const devices: MqttClient[] = [];
  let grid = '';
  let district = '';
  let otherDistrict = '';

  const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as any }); // eslint-disable-line @typescript-eslint/no-explicit-any
  const url = (path: string) => `${t.httpUrl}/api${path}`;
  const send = (who: Fetch, method: string, path: string, body?: object) =>
    who(url(path), { method, body: body === undefined ? undefined : JSON.stringify(body) }).then(
      async (res) => (res.status === 204 ? { status: 204, body: null } : json(res)),
    );
  const passwordOf = testPassword;

  /** A live connection that has its snapshot, and what ends it. */
  async function live(token: string) {
    const connection = await connectLive(t.httpUrl, token);
    sockets.push(connection.socket);
    return connection;
  }

  beforeAll(async () => {
    t = await startTestHub({
      CASE_TICK_INTERVAL_MS: '3600000',
      SESSION_SWEEP_INTERVAL_MS: '200',
      TRUST_PROXY: '127.0.0.1',
    });
    admin = authed(t.adminToken);
    ({ grid, district, otherDistrict } = lightingAreas(t));
    const users = [
      { username: 'op1', role: 'operator' },
      { username: 'sup1', role: 'supervisor' },
      { username: 'view1', role: 'viewer' },
      { username: 'crew1', role: 'crew', crewId: `lighting-${district}` },
    ];
    for (const [username, u] of Object.entries(await createUsers(t.httpUrl, t.adminToken, users))) {
      ids[username] = u.id;
      tokens[username] = u.token;
      as[username] = authed(u.token);
    }
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    for (const d of devices) await d.endAsync();
    await t?.stop();
  });

  it('refuses every admin write to other roles, lets staff read, and audits the refusals', async () => {
    for (const who of ['op1', 'sup1', 'view1', 'crew1']) {
      for (const [method, path, body] of [
        ['POST', '/departments', { id: 'greening', name: '园林绿化' }],
        ['POST', '/crews', { id: 'x', departmentId: 'lighting', name: 'x' }],
        ['POST', '/dispatch-routes', { areaPrefix: district, crewId: `lighting-${district}` }],
        ['PATCH', '/case-deadlines/1', { handleMinutes: 10 }],
        ['PUT', '/rule-case-policies/manhole.displaced', { openCase: false }],
        ['PATCH', `/users/${ids['op1']}`, { displayName: 'x' }],
        ['POST', `/users/${ids['op1']}/password`, { password: 'a-new-password-1' }],
      ] as const) {
        const res = await send(as[who]!, method, path, body);
        expect(res.status, `${who} ${method} ${path}`).toBe(403);
        expect(res.body.code).toBe('HUB_ERR_FORBIDDEN');
      }
      for (const path of ['/departments', '/crews', '/dispatch-routes', '/case-deadlines']) {
        expect((await send(as[who]!, 'GET', path)).status, `${who} GET ${path}`).toBe(200);
      }
      expect((await send(as[who]!, 'GET', '/users')).status).toBe(403);
    }
    const audit = await send(
      as['sup1']!,
      'GET',
      '/audit?username=crew1&outcome=refused&action=/api/users/:id/password',
    );
    expect(audit.body.entries).toEqual([
      expect.objectContaining({
        username: 'crew1',
        role: 'crew',
        action: 'POST /api/users/:id/password',
        target: String(ids['op1']),
        status: 403,
        // The body is kept, the password in it is not.
        detail: { body: { password: '***' } },
      }),
    ]);
  });

  it('keeps departments and crews, and refuses to delete what is still in use', async () => {
    expect(
      (await send(admin, 'POST', '/departments', { id: 'greening', name: '市园林绿化局' })).status,
    ).toBe(201);
    const dup = await send(admin, 'POST', '/departments', { id: 'greening', name: 'again' });
    expect(dup).toMatchObject({ status: 409, body: { code: 'HUB_ERR_EXISTS' } });
    const crew = await send(admin, 'POST', '/crews', {
      id: 'greening-1',
      departmentId: 'greening',
      name: '绿化一班',
    });
    expect(crew).toMatchObject({
      status: 201,
      body: { id: 'greening-1', departmentId: 'greening', departmentName: '市园林绿化局' },
    });
    expect(
      (await send(admin, 'POST', '/crews', { id: 'g-2', departmentId: 'nope', name: 'x' })).body
        .code,
    ).toBe('HUB_ERR_BAD_REQUEST');
    expect(
      (await send(admin, 'PATCH', '/crews/greening-1', { name: '绿化抢修班' })).body.name,
    ).toBe('绿化抢修班');
    const listed = await send(as['op1']!, 'GET', '/crews?departmentId=greening');
    expect(listed.body.crews).toEqual([expect.objectContaining({ id: 'greening-1' })]);

    const busyDept = await send(admin, 'DELETE', '/departments/greening');
    expect(busyDept.status).toBe(409);
    expect(busyDept.body).toMatchObject({ code: 'HUB_ERR_IN_USE' });
    expect(busyDept.body.message).toContain('1 crews');

    const route = await send(admin, 'POST', '/dispatch-routes', {
      areaPrefix: district,
      crewId: 'greening-1',
    });
    expect(route.body).toMatchObject({
      facilityType: null,
      areaPrefix: district,
      departmentId: 'greening',
      crewId: 'greening-1',
    });
    const busyCrew = await send(admin, 'DELETE', '/crews/greening-1');
    expect(busyCrew).toMatchObject({ status: 409, body: { code: 'HUB_ERR_IN_USE' } });
    expect(busyCrew.body.message).toContain('1 dispatchRoutes');

    expect((await send(admin, 'DELETE', `/dispatch-routes/${route.body.id}`)).status).toBe(204);
    expect((await send(admin, 'DELETE', '/crews/greening-1')).status).toBe(204);
    expect((await send(admin, 'DELETE', '/departments/greening')).status).toBe(204);
    expect((await send(admin, 'DELETE', '/departments/greening')).status).toBe(404);
    // A crew that has had cases keeps them, and so stays.
    expect((await send(admin, 'DELETE', `/crews/lighting-${district}`)).body.code).toBe(
      'HUB_ERR_IN_USE',
    );
  });

  it('resolves a case to its route, explains why, and dispatches by an edited table at once', async () => {
    const before = await send(
      as['op1']!,
      'GET',
      `/dispatch-routes/resolve?type=streetlight&grid=${grid}`,
    );
    expect(before.body).toMatchObject({
      route: { facilityType: 'streetlight', areaPrefix: district, crewId: `lighting-${district}` },
      department: { id: 'lighting' },
      crew: { id: `lighting-${district}` },
    });
    expect(before.body.reason).toContain('the only matching route');

    // This one grid goes to the other district's crew: longer prefix, so it wins.
    const gridRoute = await send(admin, 'POST', '/dispatch-routes', {
      facilityType: 'streetlight',
      areaPrefix: grid,
      crewId: `lighting-${otherDistrict}`,
    });
    expect(gridRoute.status).toBe(201);
    const taken = await send(admin, 'POST', '/dispatch-routes', {
      facilityType: 'streetlight',
      areaPrefix: grid,
      departmentId: 'lighting',
    });
    expect(taken).toMatchObject({ status: 409, body: { code: 'HUB_ERR_EXISTS' } });
    const mismatch = await send(admin, 'POST', '/dispatch-routes', {
      areaPrefix: grid,
      departmentId: 'gas',
      crewId: `lighting-${district}`,
    });
    expect(mismatch.body.message).toContain('belongs to department lighting');
    expect(
      (await send(admin, 'POST', '/dispatch-routes', { areaPrefix: '999999', departmentId: 'gas' }))
        .body.message,
    ).toContain('unknown area 999999');

    const after = await send(
      as['view1']!,
      'GET',
      `/dispatch-routes/resolve?type=streetlight&grid=${grid}`,
    );
    expect(after.body.route).toMatchObject({ id: gridRoute.body.id });
    expect(after.body.candidates.map((c: { areaLevel: string }) => c.areaLevel)).toEqual([
      'grid',
      'district',
    ]);
    expect(after.body.reason).toContain('longest matching area prefix of 2 matching routes');
    const none = await send(as['op1']!, 'GET', '/dispatch-routes/resolve?type=gas&grid=1');
    expect(none.body).toMatchObject({ route: null, candidates: [] });
    expect(none.body.reason).toContain('HUB_ERR_NO_ROUTE');

    const created = await send(as['op1']!, 'POST', '/cases', {
      source: 'hotline',
      severity: 'minor',
      title: '12345：路灯不亮',
      facilityType: 'streetlight',
      gridCode: grid,
    });
    expect(created.body).toMatchObject({
      state: 'dispatched',
      crewId: `lighting-${otherDistrict}`,
    });

    // Moved back to the district crew by editing the route.
    const edited = await send(admin, 'PATCH', `/dispatch-routes/${gridRoute.body.id}`, {
      crewId: `lighting-${district}`,
    });
    expect(edited.body).toMatchObject({ crewId: `lighting-${district}`, departmentId: 'lighting' });
    expect((await send(admin, 'DELETE', `/dispatch-routes/${gridRoute.body.id}`)).status).toBe(204);
  });

  it('applies an edited deadline to the next case and keeps the fallback row', async () => {
    const { body } = await send(as['crew1']!, 'GET', '/case-deadlines');
    const row = body.deadlines.find(
      (d: { severity: string; facilityType: string | null }) =>
        d.severity === 'minor' && d.facilityType === 'streetlight',
    );
    expect(row).toMatchObject({ handleMinutes: 1440 });
    const edited = await send(admin, 'PATCH', `/case-deadlines/${row.id}`, {
      handleMinutes: 720,
      source: 'city rule: ordinary lighting fault within 12 h',
    });
    expect(edited.body).toMatchObject({ handleMinutes: 720, acceptMinutes: 60 });
    const c = (
      await send(as['op1']!, 'POST', '/cases', {
        source: 'inspection',
        severity: 'minor',
        title: '巡查：路灯灯罩破损',
        facilityType: 'streetlight',
        gridCode: grid,
      })
    ).body as CaseDetail;
    expect(Date.parse(c.dueAt!) - Date.parse(c.createdAt)).toBe(720 * 60_000);

    const fallback = body.deadlines.find(
      (d: { severity: string; facilityType: string | null }) =>
        d.severity === 'minor' && d.facilityType === null,
    );
    const refused = await send(admin, 'DELETE', `/case-deadlines/${fallback.id}`);
    expect(refused).toMatchObject({ status: 409, body: { code: 'HUB_ERR_IN_USE' } });
    const extra = await send(admin, 'POST', '/case-deadlines', {
      severity: 'warning',
      facilityType: 'dust_noise',
      acceptMinutes: 60,
      handleMinutes: 240,
      source: 'test',
    });
    expect(extra.status).toBe(201);
    expect(
      (
        await send(admin, 'POST', '/case-deadlines', {
          severity: 'warning',
          facilityType: 'dust_noise',
          acceptMinutes: 1,
          handleMinutes: 1,
          source: 'again',
        })
      ).body.code,
    ).toBe('HUB_ERR_EXISTS');
    expect((await send(admin, 'DELETE', `/case-deadlines/${extra.body.id}`)).status).toBe(204);
  });

  it('makes a rule alarm-only without a restart: the alarm opens, no case is registered', async () => {
    const unknown = await send(admin, 'PUT', '/rule-case-policies/no.such.rule', {
      openCase: false,
    });
    expect(unknown).toMatchObject({ status: 404, body: { code: 'HUB_ERR_RULE_UNKNOWN' } });
    const policy = await send(admin, 'PUT', '/rule-case-policies/manhole.displaced', {
      openCase: false,
    });
    expect(policy.body).toMatchObject({
      ruleId: 'manhole.displaced',
      openCase: false,
      custom: true,
    });
    const verify = await send(admin, 'PUT', '/rule-case-policies/streetlight.dark', {
      openCase: true,
      autoVerifyAfterMinutes: 15,
    });
    expect(verify.body).toMatchObject({ autoVerifyAfterS: 900, autoVerifyAfterMinutes: 15 });
    const listed = await send(as['op1']!, 'GET', '/rule-case-policies');
    expect(listed.body.policies).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ ruleId: 'manhole.displaced', openCase: false, custom: true }),
        expect.objectContaining({ ruleId: 'manhole.tilted', openCase: true, custom: false }),
      ]),
    );

    const manhole = t.devices.manhole;
    const device = await connectDevice(t.mqttUrl, manhole);
    devices.push(device);
    const topic = `devices/${manhole.id}/events`;
    await device.publishAsync(topic, JSON.stringify({ tilt: 60, open: true }), { qos: 1 });
    const alarmId = await waitFor(async () => {
      const { rows } = await t.hub.db.pool.query<{ id: number }>(
        `SELECT id FROM alarms WHERE rule_id = 'manhole.displaced' AND device_id = $1`,
        [manhole.id],
      );
      return rows[0]?.id;
    }, 'the displaced-cover alarm');
    // Once the alarm has cleared, its opening has reached the case service before.
    await device.publishAsync(topic, JSON.stringify({ tilt: 1, open: false }), { qos: 1 });
    await waitFor(async () => {
      const { rows } = await t.hub.db.pool.query(
        `SELECT 1 FROM alarms WHERE id = $1 AND state = 'cleared'`,
        [alarmId],
      );
      return rows[0];
    }, 'the alarm to clear');
    await t.hub.cases.settled();
    const { rows } = await t.hub.db.pool.query(`SELECT id FROM cases WHERE alarm_id = $1`, [
      alarmId,
    ]);
    expect(rows).toEqual([]);
    expect((await send(admin, 'DELETE', '/rule-case-policies/manhole.displaced')).status).toBe(204);
  });

  it('changes a user, keeps one admin, and re-scopes the user’s live connections', async () => {
    const noCrew = await send(admin, 'PATCH', `/users/${ids['op1']}`, { role: 'crew' });
    expect(noCrew.body).toMatchObject({ code: 'HUB_ERR_BAD_REQUEST' });
    expect(noCrew.body.message).toContain('crewId');
    const onlyAdmin = await send(admin, 'PATCH', '/users/1', { role: 'operator' });
    expect(onlyAdmin).toMatchObject({ status: 409, body: { code: 'HUB_ERR_LAST_ADMIN' } });
    expect((await send(admin, 'POST', '/users/1/disable')).body.code).toBe('HUB_ERR_LAST_ADMIN');

    const crewLive = await live(tokens['crew1']!);
    const moved = await send(admin, 'PATCH', `/users/${ids['crew1']}`, {
      crewId: `drainage-${district}`,
      displayName: '排水班 张师傅',
    });
    expect(moved.body).toMatchObject({
      crewId: `drainage-${district}`,
      departmentId: 'drainage',
      displayName: '排水班 张师傅',
    });
    expect(await crewLive.ended).toBe('user_changed');
    expect(await crewLive.closed).toBe('io server disconnect');
    // The session itself is still good: a new connection gets the new crew's snapshot.
    expect((await send(as['crew1']!, 'GET', '/auth/me')).body.user.crewId).toBe(
      `drainage-${district}`,
    );
    await live(tokens['crew1']!);

    const otherDept = await send(admin, 'PATCH', `/users/${ids['crew1']}`, { departmentId: 'gas' });
    expect(otherDept.body.message).toContain(`belongs to department drainage`);

    const promoted = await send(admin, 'PATCH', `/users/${ids['crew1']}`, { role: 'supervisor' });
    expect(promoted.body).toMatchObject({ role: 'supervisor', crewId: null });
    const listed = await send(admin, 'GET', '/users?role=supervisor');
    expect(listed.body.users.map((u: { username: string }) => u.username).sort()).toEqual([
      'crew1',
      'sup1',
    ]);
    expect(listed.body.users[0].passwordHash).toBeUndefined();
  });

  it('ends the other sessions on a password change, all sessions on a reset or disable, live', async () => {
    // op1 is logged in twice: this request's session survives its own change.
    const second = await login(t.httpUrl, 'op1', passwordOf('op1'));
    const secondLive = await live(second);
    const wrong = await send(as['op1']!, 'POST', '/auth/password', {
      currentPassword: 'not-it',
      newPassword: 'a-brand-new-password',
    });
    expect(wrong).toMatchObject({ status: 403, body: { code: 'HUB_ERR_WRONG_PASSWORD' } });
    const changed = await send(as['op1']!, 'POST', '/auth/password', {
      currentPassword: passwordOf('op1'),
      newPassword: 'a-brand-new-password',
    });
    expect(changed.status).toBe(200);
    expect(changed.body.user.passwordChangedAt).toEqual(expect.any(String));
    expect(await secondLive.ended).toBe('password_changed');
    await secondLive.closed;
    expect((await send(authed(second), 'GET', '/auth/me')).status).toBe(401);
    expect((await send(as['op1']!, 'GET', '/auth/me')).status).toBe(200);
    await expect(login(t.httpUrl, 'op1', passwordOf('op1'))).rejects.toThrow(/401/);

    // An admin reset ends every session, the requester's own included.
    const opLive = await live(tokens['op1']!);
    const reset = await send(admin, 'POST', `/users/${ids['op1']}/password`, {
      password: 'reset-by-the-admin',
    });
    expect(reset.status).toBe(200);
    expect(await opLive.ended).toBe('password_reset');
    expect((await send(as['op1']!, 'GET', '/cases')).status).toBe(401);
    tokens['op1'] = await login(t.httpUrl, 'op1', 'reset-by-the-admin');
    as['op1'] = authed(tokens['op1']);

    // Disabled: REST 401 at once, socket told and closed, login refused; enabled again: back.
    const viewLive = await live(tokens['view1']!);
    const disabled = await send(admin, 'POST', `/users/${ids['view1']}/disable`);
    expect(disabled.body).toMatchObject({ enabled: false, disabledAt: expect.any(String) });
    expect(await viewLive.ended).toBe('disabled');
    expect(await viewLive.closed).toBe('io server disconnect');
    expect((await send(as['view1']!, 'GET', '/cases')).status).toBe(401);
    await expect(login(t.httpUrl, 'view1', passwordOf('view1'))).rejects.toThrow(/401/);
    expect((await send(admin, 'POST', `/users/${ids['view1']}/enable`)).body.enabled).toBe(true);
    await login(t.httpUrl, 'view1', passwordOf('view1'));

    const audit = await send(
      as['sup1']!,
      'GET',
      `/audit?action=/api/auth/password&username=op1&from=${new Date(Date.now() - 600_000).toISOString()}`,
    );
    expect(audit.body.entries.map((e: { outcome: string }) => e.outcome)).toEqual([
      'ok',
      'refused',
    ]);
    expect(audit.body.entries[0].detail.body).toEqual({
      currentPassword: '***',
      newPassword: '***',
    });
    expect(JSON.stringify(audit.body)).not.toContain('a-brand-new-password');
  });

  it('sweeps expired sessions and closes live connections whose session ended elsewhere', async () => {
    const expiring = await login(t.httpUrl, 'sup1', passwordOf('sup1'));
    const expiringLive = await live(expiring);
    const revoked = await login(t.httpUrl, 'sup1', passwordOf('sup1'));
    const revokedLive = await live(revoked);
    const { hashToken } = await import('../../src/dashboard/auth.js');
    await t.hub.db.pool.query(
      `UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1`,
      [hashToken(expiring)],
    );
    // As another hub process would on a logout there.
    await t.hub.db.pool.query(`DELETE FROM sessions WHERE token_hash = $1`, [hashToken(revoked)]);
    expect(await expiringLive.ended).toBe('expired');
    expect(await revokedLive.ended).toBe('revoked');
    const { rows } = await t.hub.db.pool.query(`SELECT 1 FROM sessions WHERE token_hash = $1`, [
      hashToken(expiring),
    ]);
    expect(rows).toEqual([]);
  });

  it('marks the cookie Secure behind a trusted https proxy and logs the forwarded client address', async () => {
    const viaProxy = (proto: string) =>
      fetch(url('/auth/login'), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-forwarded-proto': proto,
          'x-forwarded-for': '203.0.113.7',
        },
        body: JSON.stringify({ username: 'sup1', password: passwordOf('sup1') }),
      });
    expect((await viaProxy('https')).headers.get('set-cookie')).toMatch(/; Secure/);
    expect((await viaProxy('http')).headers.get('set-cookie')).not.toMatch(/; Secure/);
    const audit = await send(admin, 'GET', '/audit?action=/api/auth/login&username=sup1&limit=1');
    expect(audit.body.entries[0]).toMatchObject({ ip: '203.0.113.7', outcome: 'ok' });
  });

  it('describes the admin routes in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${t.httpUrl}/docs/json`)).json()) as {
      paths: Record<string, Record<string, { requestBody?: unknown }>>;
    };
    for (const path of [
      '/api/departments',
      '/api/crews',
      '/api/dispatch-routes',
      '/api/dispatch-routes/resolve',
      '/api/case-deadlines',
      '/api/rule-case-policies/{ruleId}',
      '/api/users/{id}',
      '/api/users/{id}/password',
      '/api/auth/password',
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(doc.paths['/api/dispatch-routes']!.post!.requestBody).toBeDefined();
  });

  it('keeps one enabled admin when two admins disable each other at once', async () => {
    const { admin2 } = await createUsers(t.httpUrl, t.adminToken, [
      { username: 'admin2', role: 'admin' },
    ]);
    const results = await Promise.all([
      send(authed(admin2!.token), 'POST', '/users/1/disable'),
      send(admin, 'POST', `/users/${admin2!.id}/disable`),
    ]);
    // One wins; the other is refused as the last admin, or (when the winner
    // disabled it first) its session has already ended.
    const statuses = results.map((r) => r.status).sort();
    expect(statuses[0]).toBe(200);
    expect([401, 409]).toContain(statuses[1]);
    const refused = results.find((r) => r.status === 409);
    if (refused) expect(refused.body.code).toBe('HUB_ERR_LAST_ADMIN');
    const { rows } = await t.hub.db.pool.query<{ id: number }>(
      `SELECT id FROM users WHERE role = 'admin' AND enabled`,
    );
    expect(rows).toHaveLength(1);
    // The statement itself refuses, whatever a route checked before it.
    expect(await setUserEnabled(t.hub.db.pool, rows[0]!.id, false)).toBeNull();
    expect(await updateUser(t.hub.db.pool, rows[0]!.id, { role: 'viewer' })).toBeNull();
  });
});
