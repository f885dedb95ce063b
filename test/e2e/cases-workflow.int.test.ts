import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseDetail } from '../../src/domain/index.js';
import { authed, createUsers, lightingAreas, startTestHub, type TestHub } from '../support/hub.js';

type Fetch = ReturnType<typeof authed>;

/**
 * The city-management workflow through REST with users of every role (issue #5):
 * a hotline case is registered, dispatched by the routing table, accepted,
 * handled with a photo, sent back, handled again, verified and closed; a crew
 * acting on another crew's case is refused and the audit log shows it.
 */
describe('the cases workflow through REST', () => {
  let t: TestHub;
  const as: Record<string, Fetch> = {};
  const ids: Record<string, number> = {};
  let grid = '';
  let district = '';
  let otherDistrict = '';

  const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as any }); // eslint-disable-line @typescript-eslint/no-explicit-any

  beforeAll(async () => {
    t = await startTestHub({ CASE_TICK_INTERVAL_MS: '3600000' });
    ({ grid, district, otherDistrict } = lightingAreas(t));
    const users = [
      { username: 'op1', role: 'operator' },
      { username: 'sup1', role: 'supervisor' },
      { username: 'view1', role: 'viewer' },
      { username: 'crew-a', role: 'crew', crewId: `lighting-${district}` },
      { username: 'crew-b', role: 'crew', crewId: `lighting-${otherDistrict}` },
    ];
    for (const [username, u] of Object.entries(await createUsers(t.httpUrl, t.adminToken, users))) {
      ids[username] = u.id;
      as[username] = authed(u.token);
    }
  });
  afterAll(async () => {
    await t?.stop();
  });

  const act = (who: string, id: number, action: string, body: object = {}) =>
    as[who]!(`${t.httpUrl}/api/cases/${id}/actions/${action}`, {
      method: 'POST',
      body: JSON.stringify(body),
    }).then(json);

  const register = (who: string, extra: object = {}) =>
    as[who]!(`${t.httpUrl}/api/cases`, {
      method: 'POST',
      body: JSON.stringify({
        source: 'hotline',
        severity: 'minor',
        title: '12345 热线：路灯不亮',
        description: '市民来电：熙春路口路灯整夜不亮',
        facilityType: 'streetlight',
        gridCode: grid,
        location: '熙春路与基建营路交叉口',
        ...extra,
      }),
    }).then(json);

  it('logs in with a password, answers /me, refuses a wrong password and ends a session on logout', async () => {
    const me = await json(await as['op1']!(`${t.httpUrl}/api/auth/me`));
    expect(me.body.user).toMatchObject({ username: 'op1', role: 'operator' });
    expect(me.body.user.passwordHash).toBeUndefined();

    const wrong = await fetch(`${t.httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'op1', password: 'nope' }),
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ code: 'HUB_ERR_LOGIN_FAILED' });

    // Password guessing: five failures for one name, then even the right password waits.
    const attempt = (password: string) =>
      fetch(`${t.httpUrl}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'sup1', password }),
      });
    for (let i = 0; i < 5; i++) expect((await attempt(`guess-${i}`)).status).toBe(401);
    const sixth = await attempt('pw-sup1-long-enough');
    expect(sixth.status).toBe(429);
    expect(await sixth.json()).toMatchObject({ code: 'HUB_ERR_TOO_MANY_LOGINS' });

    // No TRUST_PROXY: a forged X-Forwarded-Proto does not make the cookie Secure.
    const res = await fetch(`${t.httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
      body: JSON.stringify({ username: 'view1', password: 'pw-view1-long-enough' }),
    });
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).not.toContain('Secure');
    const cookieHeader = cookie.split(';')[0]!;
    const withCookie = await fetch(`${t.httpUrl}/api/cases`, { headers: { cookie: cookieHeader } });
    expect(withCookie.status).toBe(200);
    // A cookie-borne change carries the CSRF header (docs/api.md, "Auth").
    const logout = await fetch(`${t.httpUrl}/api/auth/logout`, {
      method: 'POST',
      headers: { cookie: cookieHeader, 'x-hub-request': '1' },
    });
    expect(logout.status).toBe(200);
    const after = await fetch(`${t.httpUrl}/api/cases`, { headers: { cookie: cookieHeader } });
    expect(after.status).toBe(401);
  });

  it('takes a hotline case from registration to closure with rework, each step by its role', async () => {
    const created = await register('op1');
    expect(created.status).toBe(201);
    const c = created.body as CaseDetail;
    // Dispatched at once by the routing table: streetlight × district → lighting crew.
    expect(c).toMatchObject({
      state: 'dispatched',
      source: 'hotline',
      departmentId: 'lighting',
      crewId: `lighting-${district}`,
      gridCode: grid,
    });
    // Ordinary lighting fault: 24 h (domain.md, Hebei urban lighting rules).
    expect(Date.parse(c.dueAt!) - Date.parse(c.createdAt)).toBe(24 * 3600_000);

    expect((await register('view1')).status).toBe(403);
    expect((await act('crew-a', c.id, 'verify')).body.code).toBe('HUB_ERR_FORBIDDEN');

    expect((await act('crew-a', c.id, 'accept')).body.case.state).toBe('in_handling');

    const form = new FormData();
    form.append(
      'photo',
      new Blob([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46])], {
        type: 'image/jpeg',
      }),
      'fix.jpg',
    );
    const photo = await json(
      await as['crew-a']!(`${t.httpUrl}/api/cases/${c.id}/photos`, { method: 'POST', body: form }),
    );
    expect(photo.status).toBe(201);
    const photoRes = await as['sup1']!(`${t.httpUrl}/api/cases/${c.id}/photos/${photo.body.id}`);
    expect(photoRes.headers.get('content-type')).toBe('image/jpeg');

    expect((await act('crew-a', c.id, 'handle', {})).body.code).toBe('HUB_ERR_BAD_REQUEST');
    const handled = await act('crew-a', c.id, 'handle', {
      note: '更换灯泡，已恢复照明',
      photoIds: [photo.body.id],
    });
    expect(handled.body.case.state).toBe('handled');

    const rework = await act('sup1', c.id, 'rework', { reason: '现场核查仍不亮' });
    expect(rework.body.case).toMatchObject({ state: 'in_handling', reworkCount: 1 });
    expect((await act('crew-a', c.id, 'handle', { note: '更换镇流器' })).body.case.state).toBe(
      'handled',
    );
    expect((await act('sup1', c.id, 'verify')).body.case.state).toBe('verified');
    const closed = await act('sup1', c.id, 'close');
    expect(closed.body.case.state).toBe('closed');
    expect(closed.body.case.closedAt).not.toBeNull();

    const again = await act('sup1', c.id, 'close');
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('HUB_ERR_CASE_TRANSITION');

    const detail = await json(await as['view1']!(`${t.httpUrl}/api/cases/${c.id}`));
    expect(detail.body.timeline.map((e: { action: string }) => e.action)).toEqual([
      'register',
      'dispatch',
      'accept',
      'handle',
      'rework',
      'handle',
      'verify',
      'close',
    ]);
    expect(detail.body.timeline[3].data.photoIds).toEqual([photo.body.id]);
    expect(detail.body.timeline[2].actorName).toBe('crew-a');
    const versions = detail.body.timeline.map((e: { version: number }) => e.version);
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
  });

  it('keeps quotes, backslashes and SQL in notes and titles verbatim in the timeline', async () => {
    // Timeline entries go to PostgreSQL as escaped literals with the COMMIT (db/case-events.ts).
    const hostile = `O'Brien's lamp \\ 'x'); DROP TABLE cases; -- $$ E'\\n' 井盖\u2028"`;
    const created = await register('op1', { title: hostile, description: hostile });
    expect(created.status).toBe(201);
    const c = created.body as CaseDetail;
    const commented = await act('op1', c.id, 'comment', { note: hostile });
    expect(commented.status).toBe(200);
    const detail = await json(await as['view1']!(`${t.httpUrl}/api/cases/${c.id}`));
    expect(detail.body.case.title).toBe(hostile);
    const comment = detail.body.timeline.find((e: { action: string }) => e.action === 'comment');
    expect(comment.note).toBe(hostile);
    expect(detail.body.timeline.map((e: { action: string }) => e.action)).toEqual([
      'register',
      'dispatch',
      'comment',
    ]);
    // The snapshots a reconnecting client replays carry the same title.
    const { rows } = await t.hub.db.pool.query<{ title: string; data: unknown }>(
      `SELECT snapshot->>'title' AS title, data FROM case_events WHERE case_id = $1 ORDER BY version`,
      [c.id],
    );
    expect(rows.map((r) => r.title)).toEqual([hostile, hostile, hostile]);
    expect(rows[1]!.data).toMatchObject({ crewId: `lighting-${district}` });
  });

  it('refuses a crew acting on another crew case with 403 and records the attempt in the audit log', async () => {
    const c = (await register('op1')).body as CaseDetail;
    const refused = await act('crew-b', c.id, 'accept');
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('HUB_ERR_FORBIDDEN');
    expect((await as['crew-b']!(`${t.httpUrl}/api/cases/${c.id}`)).status).toBe(403);
    const list = await json(await as['crew-b']!(`${t.httpUrl}/api/cases`));
    expect(list.body.cases.map((x: CaseDetail) => x.id)).not.toContain(c.id);
    expect(
      (await json(await as['crew-a']!(`${t.httpUrl}/api/cases`))).body.cases.map(
        (x: CaseDetail) => x.id,
      ),
    ).toContain(c.id);

    const audit = await json(
      await as['sup1']!(`${t.httpUrl}/api/audit?username=crew-b&outcome=refused`),
    );
    expect(audit.body.entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          username: 'crew-b',
          role: 'crew',
          action: 'POST /api/cases/:id/actions/:action',
          target: String(c.id),
          outcome: 'refused',
          status: 403,
          ip: expect.any(String),
          detail: expect.objectContaining({ action: 'accept' }),
        }),
      ]),
    );
    expect((await as['crew-a']!(`${t.httpUrl}/api/audit`)).status).toBe(403);

    // Reassigned to crew B by the control room: now B may accept and A may not.
    const moved = await act('op1', c.id, 'reassign', { crewId: `lighting-${otherDistrict}` });
    expect(moved.body.case).toMatchObject({
      state: 'dispatched',
      crewId: `lighting-${otherDistrict}`,
    });
    expect((await act('crew-a', c.id, 'accept')).status).toBe(403);
    expect((await act('crew-b', c.id, 'accept')).body.case.state).toBe('in_handling');
  });

  it('returns, defers, extends and cancels with the reasons the table demands', async () => {
    const c = (
      await register('op1', {
        severity: 'major',
        title: '巡查发现：灯杆倾斜',
        source: 'inspection',
      })
    ).body as CaseDetail;
    expect((await act('crew-a', c.id, 'return', {})).status).toBe(400);
    const returned = await act('crew-a', c.id, 'return', { reason: '非路灯设施，应由园林处理' });
    expect(returned.body.case).toMatchObject({ state: 'returned', crewId: null });
    const again = await act('op1', c.id, 'dispatch', { crewId: `lighting-${district}` });
    expect(again.body.case.state).toBe('dispatched');
    const extended = await act('sup1', c.id, 'extend', { hours: 48, note: '需停电作业' });
    expect(extended.body.case.extensionCount).toBe(1);
    expect(Date.parse(extended.body.case.dueAt) - Date.parse(c.dueAt!)).toBe(48 * 3600_000);
    expect((await act('sup1', c.id, 'defer', { reason: '待道路改造' })).body.case.state).toBe(
      'deferred',
    );
    expect((await act('op1', c.id, 'cancel', {})).status).toBe(400);
    const cancelled = await act('op1', c.id, 'cancel', { reason: '误报' });
    expect(cancelled.body.case).toMatchObject({ state: 'cancelled', cancelledReason: '误报' });
    expect((await act('op1', c.id, 'comment', { note: 'x' })).status).toBe(409);
  });

  it('requires a login for every API route but health, and serves the OpenAPI document at /docs', async () => {
    for (const route of ['/api/cases', '/api/devices', '/api/alarms', '/api/kpis', '/api/rules']) {
      expect((await fetch(t.httpUrl + route)).status, route).toBe(401);
    }
    expect((await fetch(`${t.httpUrl}/api/health`)).status).toBe(200);
    const doc = (await (await fetch(`${t.httpUrl}/docs/json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/cases', '/api/cases/{id}/actions/{action}', '/api/kpis']),
    );
    expect((await fetch(`${t.httpUrl}/docs`)).status).toBeLessThan(400);
    const crews = await json(await as['op1']!(`${t.httpUrl}/api/crews`));
    expect(crews.body.crews).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: `lighting-${district}`, departmentId: 'lighting' }),
      ]),
    );
    expect(ids['crew-a']).toBeGreaterThan(0);
  });
});
