import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authed, login, startTestHub, waitFor, type TestHub } from '../support/hub.js';
import { rawRequest } from '../support/raw-http.js';

/**
 * Issue #11, HTTP findings: each test here failed on the code before the fix
 * (one gate on the matched route, the input boundary, headers, CSRF, origin).
 */
describe('a hostile HTTP client', () => {
  let t: TestHub;
  let db: pg.Client;
  let deviceId: string;
  const allowedOrigin = 'https://ops.example.gov.cn';

  beforeAll(async () => {
    t = await startTestHub({ HTTP_ALLOWED_ORIGINS: allowedOrigin });
    db = new pg.Client({ connectionString: t.database.url });
    await db.connect();
    deviceId = t.devices.gas.id;
  });
  afterAll(async () => {
    await db?.end();
    await t?.stop();
  });

  const bearer = () => ({ authorization: `Bearer ${t.adminToken}` });
  const get = (path: string, headers: Record<string, string> = {}) =>
    rawRequest(t.httpUrl, 'GET', path, headers);

  const pathVariants = [
    '/%61pi/devices',
    '/%61%70%69/devices',
    '/%2561pi/devices',
    '/api/%64evices',
    '//api/devices',
    '/API/devices',
    '/Api/Devices',
    '/api/./devices',
    '/api/../api/devices',
    '/./api/devices',
    '/api//devices',
    '/api/devices/',
    '/api/devices;',
    '/api/devices;x=1',
    '/api;/devices',
    '/api%2Fdevices',
    '/api%2fdevices',
    '/%2Fapi/devices',
    '/api/devices%2F',
    '/api/devices%00',
    '/api/devices/..;/devices',
    '/%61pi/dead-letters',
    '/%61pi/alarms',
    '/%61pi/rules',
    '/%61pi/crews',
    '/%61pi/calendar',
    '/%61pi/users',
  ];

  it('answers no spelling of an /api path with data without a session', async () => {
    for (const path of [...pathVariants, `/%61pi/telemetry/${deviceId}`]) {
      const res = await get(path);
      expect([400, 401, 404], `${path}: ${res.status} ${res.body.slice(0, 80)}`).toContain(
        res.status,
      );
    }
    // The decoded spelling reaches the route, and so its login check.
    expect((await get('/%61pi/devices')).status).toBe(401);
    expect(JSON.parse((await get('/%61pi/devices')).body)).toMatchObject({
      code: 'HUB_ERR_UNAUTHENTICATED',
    });
  });

  it('routes each spelling with a session through the same route, or not at all', async () => {
    for (const path of pathVariants) {
      const res = await get(path, bearer());
      expect([200, 400, 404], `${path}: ${res.status} ${res.body.slice(0, 80)}`).toContain(
        res.status,
      );
    }
    expect((await get('/%61pi/devices', bearer())).status).toBe(200);
  });

  it('refuses malformed parameters and bodies with a 400 and a stable code, never a 500', async () => {
    const cases: [string, string, string | undefined, string][] = [
      ['GET', '/api/devices?limit=Infinity', undefined, 'HUB_ERR_BAD_REQUEST'],
      ['GET', '/api/devices?offset=99999999999999999999', undefined, 'HUB_ERR_BAD_REQUEST'],
      ['GET', '/api/cases?offset=99999999999999999999', undefined, 'HUB_ERR_BAD_REQUEST'],
      ['GET', '/api/cases/99999999999999999999', undefined, 'HUB_ERR_BAD_REQUEST'],
      ['GET', '/api/users/99999999999999999999', undefined, 'HUB_ERR_BAD_REQUEST'],
      ['POST', '/api/alarms/99999999999999999999/ack', undefined, 'HUB_ERR_BAD_REQUEST'],
      [
        'GET',
        `/api/telemetry/${deviceId}?to=99999999999999999999`,
        undefined,
        'HUB_ERR_BAD_REQUEST',
      ],
      [
        'GET',
        `/api/telemetry/${deviceId}?to=%27%20OR%20%271%27%3D%271`,
        undefined,
        'HUB_ERR_BAD_REQUEST',
      ],
      ['GET', `/api/telemetry/${deviceId}?from=1999-12-31`, undefined, 'HUB_ERR_BAD_REQUEST'],
      ['GET', '/api/dead-letters?since=Infinity', undefined, 'HUB_ERR_BAD_REQUEST'],
      ['GET', '/api/audit?from=0001-01-01T00:00:00Z', undefined, 'HUB_ERR_BAD_REQUEST'],
      ['GET', '/api/kpis?to=9999-12-31T00:00:00Z', undefined, 'HUB_ERR_BAD_REQUEST'],
      ['GET', '/api/cases?q=a%00b', undefined, 'HUB_ERR_TEXT_INVALID'],
      ['GET', '/api/devices/a%00b', undefined, 'HUB_ERR_TEXT_INVALID'],
      ['GET', '/api/rules/a%00b', undefined, 'HUB_ERR_TEXT_INVALID'],
      ['GET', '/api/devices?sort=x', undefined, 'HUB_ERR_BAD_REQUEST'],
      ['GET', '/api/rules?sort=x', undefined, 'HUB_ERR_BAD_REQUEST'],
      ['GET', '/api/crews?sort=x', undefined, 'HUB_ERR_BAD_REQUEST'],
      [
        'POST',
        '/api/cases',
        JSON.stringify({ source: 'hotline', severity: 'minor', title: 'a\u0000b' }),
        'HUB_ERR_TEXT_INVALID',
      ],
      [
        'POST',
        '/api/cases',
        JSON.stringify({ source: 'hotline', severity: 'minor', title: 'x\ud800' }),
        'HUB_ERR_TEXT_INVALID',
      ],
      [
        'POST',
        '/api/cases',
        JSON.stringify({ source: 'hotline', severity: 'minor', title: 't', sort: 'x' }),
        'HUB_ERR_BAD_REQUEST',
      ],
      ['POST', '/api/cases', '['.repeat(100_000) + ']'.repeat(100_000), 'HUB_ERR_BODY_TOO_DEEP'],
      [
        'POST',
        '/api/cases',
        '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000),
        'HUB_ERR_BODY_TOO_DEEP',
      ],
      ['POST', '/api/cases', '{"title":', 'HUB_ERR_BAD_REQUEST'],
    ];
    const wrong: string[] = [];
    for (const [method, path, body, code] of cases) {
      const res = await rawRequest(
        t.httpUrl,
        method,
        path,
        { ...bearer(), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body,
      );
      const got = res.body.startsWith('{') ? (JSON.parse(res.body) as { code?: string }).code : '';
      if (res.status !== 400 || got !== code) wrong.push(`${method} ${path}: ${res.status} ${got}`);
    }
    expect(wrong).toEqual([]);
  });

  it('keeps an audit row for a refused change whose body holds text PostgreSQL cannot store', async () => {
    const res = await authed(t.adminToken)(`${t.httpUrl}/api/users`, {
      method: 'POST',
      body: JSON.stringify({
        username: 'surrogate',
        password: 'long-enough-password',
        role: 'admin',
        displayName: 'x\ud800',
      }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('HUB_ERR_TEXT_INVALID');
    const row = await waitFor(async () => {
      const { rows } = await db.query<{
        status: number;
        detail: { body: { displayName: string } };
      }>(`SELECT status, detail FROM audit_log WHERE action = 'POST /api/users' AND status = 400`);
      return rows[0];
    }, 'the audit row of the refused user');
    expect(row.detail.body.displayName).toBe('x\ufffd');
    const { rows } = await db.query(`SELECT 1 FROM users WHERE username = 'surrogate'`);
    expect(rows).toHaveLength(0);
  });

  it('audits a change made through an encoded path as the route it reached', async () => {
    const res = await rawRequest(t.httpUrl, 'POST', '/%61pi/rules/gas.ch4/enable', bearer());
    expect(res.status).toBe(200);
    const u = await rawRequest(t.httpUrl, 'POST', '/%61pi/users/1/enable', bearer());
    expect(u.status).toBe(200);
    await waitFor(async () => {
      const { rows } = await db.query(
        `SELECT 1 FROM audit_log WHERE action = 'POST /api/users/:id/enable' AND status = 200`,
      );
      return rows.length > 0 ? true : undefined;
    }, 'the audit row of the encoded user change');
    const rows = await waitFor(async () => {
      const { rows } = await db.query<{ action: string; status: number }>(
        `SELECT action, status FROM audit_log WHERE action = 'POST /api/rules/:id/enable'`,
      );
      return rows.length > 0 ? rows : undefined;
    }, 'the audit row of the encoded change');
    expect(rows[0]).toMatchObject({ status: 200 });
  });

  it('sends security headers on pages, API answers, refusals and 404s', async () => {
    for (const path of ['/', '/index.html', '/app.js', '/api/health', '/api/devices', '/nope']) {
      const res = await get(path);
      expect(res.headers['x-content-type-options'], path).toBe('nosniff');
      expect(res.headers['x-frame-options'], path).toBe('DENY');
      const csp = String(res.headers['content-security-policy']);
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain("connect-src 'self'");
      expect(csp, path).not.toContain('upgrade-insecure-requests');
    }
  });

  describe('changes sent with the session cookie', () => {
    // A session of its own: a logout that got through must not end the others' session.
    let cookieToken: string;
    beforeAll(async () => {
      const password = (await readFile(t.hub.adminPasswordFile, 'utf8')).trim();
      cookieToken = await login(t.httpUrl, 'admin', password);
    });
    const cookie = () => ({ cookie: `hub_session=${cookieToken}` });
    const caseBody = JSON.stringify({ source: 'hotline', severity: 'minor', title: 'csrf probe' });

    it('are refused without a JSON body or the X-Hub-Request header', async () => {
      for (const [method, path, headers, body] of [
        ['POST', '/api/auth/logout', {}, undefined],
        ['POST', '/api/cases', { 'content-type': 'text/plain' }, caseBody],
        ['POST', '/api/cases', { 'content-type': 'application/x-www-form-urlencoded' }, 'a=b'],
        [
          'POST',
          '/api/cases/1/photos',
          { 'content-type': 'multipart/form-data; boundary=x' },
          '--x\r\nContent-Disposition: form-data; name="f"; filename="a.png"\r\n\r\nhi\r\n--x--\r\n',
        ],
        ['DELETE', '/api/calendar/days/2030-01-01', {}, undefined],
        ['POST', '/api/cases', { 'x-hub-request': '0', 'content-type': 'text/plain' }, caseBody],
      ] as const) {
        const res = await rawRequest(t.httpUrl, method, path, { ...cookie(), ...headers }, body);
        expect(res.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(403);
        expect(JSON.parse(res.body)).toMatchObject({ code: 'HUB_ERR_CSRF' });
      }
      // The session lived through the refused logout.
      expect((await get('/api/auth/me', cookie())).status).toBe(200);
    });

    it('pass with a JSON body or the header, and bearer tokens need neither', async () => {
      const json = await rawRequest(
        t.httpUrl,
        'POST',
        '/api/cases',
        { ...cookie(), 'content-type': 'application/json' },
        caseBody,
      );
      expect(json.status).toBe(201);
      const header = await rawRequest(
        t.httpUrl,
        'POST',
        '/api/rules/gas.ch4/enable',
        { ...cookie(), 'x-hub-request': '1' },
        undefined,
      );
      expect(header.status).toBe(200);
      const token = await rawRequest(t.httpUrl, 'POST', '/api/rules/gas.ch4/enable', bearer());
      expect(token.status).toBe(200);
    });
  });

  describe('socket.io', () => {
    const connect = (headers: Record<string, string>) =>
      new Promise<string>((resolve) => {
        const socket = io(t.httpUrl, {
          transports: ['websocket'],
          reconnection: false,
          auth: { token: t.adminToken },
          extraHeaders: headers,
        });
        socket.once('connect', () => {
          socket.close();
          resolve('connected');
        });
        socket.once('connect_error', (err) => {
          socket.close();
          resolve(`refused: ${err.message}`);
        });
      });

    it('refuses a handshake from another origin, even with a valid session', async () => {
      expect(await connect({ origin: 'http://evil.example' })).toMatch(/^refused/);
      expect(await connect({ origin: 'null' })).toMatch(/^refused/);
      expect(await connect({ origin: t.httpUrl.replace('127.0.0.1', 'localhost') })).toMatch(
        /^refused/,
      );
    });

    it("lets the hub's own origin, a configured origin and clients without Origin in", async () => {
      expect(await connect({ origin: t.httpUrl })).toBe('connected');
      expect(await connect({ origin: allowedOrigin })).toBe('connected');
      expect(await connect({})).toBe('connected');
    });
  });
});
