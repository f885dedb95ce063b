import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authed,
  createUsers,
  lightingAreas,
  connectDevice,
  startTestHub,
  waitFor,
  type TestHub,
} from '../support/hub.js';

type Fetch = ReturnType<typeof authed>;
// Response bodies are read loosely here; their shapes are what the assertions check.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = { status: number; headers: Headers; body: any };
const json = async (res: Response): Promise<Json> => ({
  status: res.status,
  headers: res.headers,
  body: (await res.json()) as unknown,
});

const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]);
const pngBytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);

/**
 * Hostile input to files, scopes, webhooks and the CSV import (issue #11,
 * parts 4 to 7), over real HTTP against a real database.
 */
describe('hostile input: photos, area scopes, webhooks, CSV import', () => {
  let t: TestHub;
  const as: Record<string, Fetch> = {};
  let grid = '';
  let district = '';
  let otherDistrict = '';
  let otherGrid = '';
  // A loopback receiver that must never be reached: webhooks refuse private targets by default.
  let receiver: Server;
  let receiverPort = 0;
  const received: string[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      received.push(req.url ?? '');
      res.end('ok');
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    receiverPort = (receiver.address() as AddressInfo).port;
    t = await startTestHub({ CASE_TICK_INTERVAL_MS: '3600000', WEBHOOK_MAX_ATTEMPTS: '1' });
    ({ grid, district, otherDistrict } = lightingAreas(t));
    const { rows } = await t.hub.db.pool.query<{ code: string }>(
      `SELECT code FROM areas WHERE level = 'grid' AND left(code, 6) = $1 ORDER BY code LIMIT 1`,
      [otherDistrict],
    );
    otherGrid = rows[0]!.code;
    const users = [
      { username: 'op-here', role: 'operator', areaCode: district },
      { username: 'op-there', role: 'operator', areaCode: otherDistrict },
      { username: 'sup-there', role: 'supervisor', areaCode: otherDistrict },
      { username: 'op-city', role: 'operator' },
    ];
    for (const [name, u] of Object.entries(await createUsers(t.httpUrl, t.adminToken, users))) {
      as[name] = authed(u.token);
    }
    as.admin = authed(t.adminToken);
  });
  afterAll(async () => {
    await t?.stop();
    receiver?.close();
  });

  const register = (who: string, extra: object = {}) =>
    as[who]!(`${t.httpUrl}/api/cases`, {
      method: 'POST',
      body: JSON.stringify({
        source: 'hotline',
        severity: 'minor',
        title: '12345 热线：路灯不亮',
        facilityType: 'streetlight',
        gridCode: grid,
        ...extra,
      }),
    }).then(json);

  const act = (who: string, id: number, action: string, body: object = {}) =>
    as[who]!(`${t.httpUrl}/api/cases/${id}/actions/${action}`, {
      method: 'POST',
      body: JSON.stringify(body),
    }).then(json);

  const upload = (who: string, caseId: number, bytes: Buffer, type: string, name: string) => {
    const form = new FormData();
    form.append('photo', new Blob([new Uint8Array(bytes)], { type }), name);
    return as[who]!(`${t.httpUrl}/api/cases/${caseId}/photos`, { method: 'POST', body: form });
  };

  describe('case photos', () => {
    it('refuses an HTML page declared image/png with 415 HUB_ERR_PHOTO_TYPE and stores nothing', async () => {
      const c = (await register('op-city')).body as { id: number };
      const html = Buffer.from('<html><script>alert(document.cookie)</script></html>');
      const res = await json(await upload('op-city', c.id, html, 'image/png', 'x.png'));
      expect(res.status).toBe(415);
      expect(res.body.code).toBe('HUB_ERR_PHOTO_TYPE');
      const { rows } = await t.hub.db.pool.query(`SELECT 1 FROM case_photos WHERE case_id = $1`, [
        c.id,
      ]);
      expect(rows).toHaveLength(0);
    });

    it('stores a photo under the type its bytes show and serves it with nosniff and a safe disposition', async () => {
      const c = (await register('op-city')).body as { id: number };
      // PNG bytes declared as JPEG: the bytes win.
      const up = await json(await upload('op-city', c.id, pngBytes, 'image/jpeg', 'a"b.jpg'));
      expect(up.status).toBe(201);
      expect(up.body.contentType).toBe('image/png');
      const res = await as['op-city']!(`${t.httpUrl}/api/cases/${c.id}/photos/${up.body.id}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/png');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
      expect(res.headers.get('content-disposition')).toMatch(
        /^inline; filename="[0-9a-f]{24}\.png"$/,
      );
      expect(Buffer.from(await res.arrayBuffer())).toEqual(pngBytes);

      const j = await json(await upload('op-city', c.id, jpeg, 'application/octet-stream', 'p'));
      expect([j.status, j.body.contentType]).toEqual([201, 'image/jpeg']);
    });
  });

  describe('area scopes', () => {
    it('keeps a case without a grid code from area users of every district: not listed, not readable, not dispatchable', async () => {
      const created = await register('op-city', { gridCode: undefined, facilityType: undefined });
      expect(created.status).toBe(201);
      const id = (created.body as { id: number; gridCode: string | null }).id;
      expect(created.body.gridCode).toBeNull();
      for (const who of ['op-here', 'op-there', 'sup-there']) {
        const list = await json(await as[who]!(`${t.httpUrl}/api/cases?limit=1000`));
        expect(list.body.cases.map((x: { id: number }) => x.id)).not.toContain(id);
        const read = await json(await as[who]!(`${t.httpUrl}/api/cases/${id}`));
        expect([read.status, read.body.code]).toEqual([403, 'HUB_ERR_OUT_OF_AREA']);
      }
      const dispatch = await act('op-there', id, 'dispatch', { crewId: `lighting-${district}` });
      expect([dispatch.status, dispatch.body.code]).toEqual([403, 'HUB_ERR_OUT_OF_AREA']);
      // A city-wide user still sees it.
      expect((await as['op-city']!(`${t.httpUrl}/api/cases/${id}`)).status).toBe(200);
    });

    it('lets an area operator register only inside its area, and see what it registered', async () => {
      const outside = await register('op-here', { gridCode: otherGrid });
      expect([outside.status, outside.body.code]).toEqual([403, 'HUB_ERR_OUT_OF_AREA']);
      const noGrid = await register('op-here', { gridCode: undefined });
      expect([noGrid.status, noGrid.body.code]).toEqual([403, 'HUB_ERR_OUT_OF_AREA']);
      // A device of the other district named with a grid of its own area: still outside.
      const { rows } = await t.hub.db.pool.query<{ id: string }>(
        `SELECT id FROM devices WHERE left(grid_code, 6) <> $1 LIMIT 1`,
        [district],
      );
      if (rows[0]) {
        const viaDevice = await register('op-here', { deviceId: rows[0].id });
        expect([viaDevice.status, viaDevice.body.code]).toEqual([403, 'HUB_ERR_OUT_OF_AREA']);
      }
      const { rows: none } = await t.hub.db.pool.query(`SELECT 1 FROM cases WHERE grid_code = $1`, [
        otherGrid,
      ]);
      expect(none).toHaveLength(0);

      const inside = await register('op-here');
      expect(inside.status).toBe(201);
      expect((await as['op-here']!(`${t.httpUrl}/api/cases/${inside.body.id}`)).status).toBe(200);
      const there = await json(await as['op-there']!(`${t.httpUrl}/api/cases/${inside.body.id}`));
      expect([there.status, there.body.code]).toEqual([403, 'HUB_ERR_OUT_OF_AREA']);
      const cancel = await act('sup-there', inside.body.id, 'cancel', { reason: '重复' });
      expect([cancel.status, cancel.body.code]).toEqual([403, 'HUB_ERR_OUT_OF_AREA']);
    });
  });

  describe('webhooks', () => {
    const createHook = (url: string) =>
      as.admin!(`${t.httpUrl}/api/webhooks`, {
        method: 'POST',
        body: JSON.stringify({ url, events: ['case.register'] }),
      }).then(json);

    it('refuses user:password in a webhook URL with 400 HUB_ERR_WEBHOOK_CREDENTIALS and stores nothing', async () => {
      const res = await createHook('https://sms-bot:hunter2-password@gw.example.invalid/hook');
      expect([res.status, res.body.code]).toEqual([400, 'HUB_ERR_WEBHOOK_CREDENTIALS']);
      const { rows } = await t.hub.db.pool.query(
        `SELECT 1 FROM webhooks WHERE url LIKE '%hunter2%'`,
      );
      expect(rows).toHaveLength(0);
    });

    it('refuses loopback, private, link-local, unspecified and multicast targets, literal or by name', async () => {
      for (const host of [
        '127.0.0.1',
        'localhost',
        '10.0.0.8',
        '172.16.3.4',
        '192.168.1.10',
        '169.254.169.254',
        '0.0.0.0',
        '224.0.0.251',
        '[::1]',
        '[fe80::1]',
        '[fd00::1]',
        '[::ffff:127.0.0.1]',
      ]) {
        const res = await createHook(`http://${host}:${receiverPort}/hook`);
        expect([host, res.status, res.body.code]).toEqual([host, 400, 'HUB_ERR_WEBHOOK_TARGET']);
      }
    });

    it('masks a stored user:password in every response and checks the target again at delivery', async () => {
      // Rows from before the check, or a name that resolved publicly at creation and to loopback now.
      await t.hub.db.pool.query(
        `INSERT INTO webhooks (url, secret, events) VALUES
           ($1, 'old-webhook-secret-0123456789', '{case.register}'),
           ($2, 'old-webhook-secret-0123456789', '{case.register}')`,
        [
          `http://old-user:old-password@127.0.0.1:${receiverPort}/literal`,
          `http://localhost:${receiverPort}/rebound`,
        ],
      );
      const list = await json(await as.admin!(`${t.httpUrl}/api/webhooks`));
      const text = JSON.stringify(list.body);
      expect(text).not.toContain('old-password');
      expect(text).not.toContain('old-user');
      expect(text).toContain(`http://***@127.0.0.1:${receiverPort}/literal`);
      expect(text).not.toContain('old-webhook-secret');

      const created = await register('op-city');
      expect(created.status).toBe(201);
      await t.hub.webhooks.settled();
      const dead = await waitFor(async () => {
        const res = await json(await as.admin!(`${t.httpUrl}/api/webhooks/deliveries`));
        const mine = (res.body.deliveries as { payload: { case: { id: number } } }[]).filter(
          (d) => d.payload.case.id === created.body.id,
        );
        return mine.length === 2 ? mine : undefined;
      }, 'both deliveries to be recorded');
      for (const d of dead as unknown as { status: string; lastError: string }[]) {
        expect(d.status).toBe('dead');
        expect(d.lastError).toContain('not a public address');
      }
      expect(received).toEqual([]);
    });
  });

  describe('CSV device import', () => {
    const importCsv = (body: Buffer | string, type = 'text/csv') =>
      as.admin!(`${t.httpUrl}/api/devices/import`, {
        method: 'POST',
        headers: { 'content-type': type },
        body: typeof body === 'string' ? body : new Uint8Array(body),
      }).then(json);
    const nameOf = async (id: string) =>
      (await t.hub.db.pool.query<{ name: string }>(`SELECT name FROM devices WHERE id = $1`, [id]))
        .rows[0]?.name;

    it('reads a GBK file from a Chinese spreadsheet, detected or declared, without mojibake', async () => {
      const text = (suffix: string) =>
        `id,type,grid,name,lat,lon,vendor\r\nGBK-${suffix},manhole,${grid},雨湖区建设路井盖${suffix},27.86,112.91,湘潭市政\r\n`;
      const detected = await importCsv(iconv.encode(text('1'), 'gbk'));
      expect([detected.status, detected.body.imported]).toEqual([201, 1]);
      expect(await nameOf('GBK-1')).toBe('雨湖区建设路井盖1');
      const declared = await importCsv(iconv.encode(text('2'), 'gb18030'), 'text/csv; charset=GBK');
      expect([declared.status, declared.body.imported]).toEqual([201, 1]);
      expect(await nameOf('GBK-2')).toBe('雨湖区建设路井盖2');
    });

    it('refuses a file that decodes neither as declared nor as GB18030, naming the line', async () => {
      const gbk = iconv.encode(`id,type,grid,name\nGBK-X,manhole,${grid},井盖\n`, 'gbk');
      const wrongDeclared = await importCsv(gbk, 'text/csv; charset=utf-8');
      expect([wrongDeclared.status, wrongDeclared.body.code]).toEqual([
        400,
        'HUB_ERR_CSV_ENCODING',
      ]);
      expect(wrongDeclared.body.message).toContain('line 2');
      const garbage = Buffer.concat([
        Buffer.from(`id,type,grid,name\nGBK-Y,manhole,${grid},ok\nGBK-Z,manhole,${grid},`),
        Buffer.from([0xff, 0x20, 0x81, 0x0a]),
      ]);
      const bad = await importCsv(garbage);
      expect([bad.status, bad.body.code]).toEqual([400, 'HUB_ERR_CSV_ENCODING']);
      expect(bad.body.message).toContain('line 3');
      expect(await nameOf('GBK-Y')).toBeUndefined();
    });

    it('treats ids differing only in case as one device, in a file, against the registry and over REST', async () => {
      const csv = [
        'id,type,grid,name',
        `FX-001,gas,${grid},调压箱 1`,
        `fx-001,gas,${grid},调压箱 1 again`,
      ].join('\n');
      const first = await importCsv(csv);
      expect(first.body.imported).toBe(1);
      expect(first.body.errors).toMatchObject([{ line: 3, id: 'fx-001' }]);
      // MQTT matches the registered spelling exactly: one device, one username.
      const secret = first.body.devices[0].secret as string;
      await expect(connectDevice(t.mqttUrl, { id: 'fx-001', secret })).rejects.toThrow();
      (await connectDevice(t.mqttUrl, { id: 'FX-001', secret })).end(true);
      const again = await importCsv(`id,type,grid,name\nFx-001,gas,${grid},third\n`);
      expect(again.status).toBe(400);
      expect(again.body.errors[0].message).toMatch(/HUB_ERR_DEVICE_EXISTS/);
      const rest = await json(
        await as.admin!(`${t.httpUrl}/api/devices`, {
          method: 'POST',
          body: JSON.stringify({ id: 'fX-001', type: 'gas', gridCode: grid, name: 'x' }),
        }),
      );
      expect([rest.status, rest.body.code]).toEqual([409, 'HUB_ERR_DEVICE_EXISTS']);
      // The database holds it too, whoever writes.
      await expect(
        t.hub.db.pool.query(
          `INSERT INTO devices (id, type, name, grid_code, secret_hash) VALUES ('fx-001', 'gas', 'y', $1, 'x')`,
          [grid],
        ),
      ).rejects.toMatchObject({ code: '23505' });
    });

    it('holds every row to the REST limits: a 1 MB name, a NUL, coordinates out of range', async () => {
      const csv = [
        'id,type,grid,name,lat,lon,vendor',
        `LIM-1,gas,${grid},${'长'.repeat(1_000_000)},27.8,112.9,`,
        `LIM-2,gas,${grid},bad\u0000name,27.8,112.9,`,
        `LIM-3,gas,${grid},far away,27.8,181,`,
        `LIM-4,gas,${grid},vendor too long,27.8,112.9,${'v'.repeat(101)}`,
        `LIM-5,gas,${grid},燃气调压箱,27.8,112.9,`,
      ].join('\n');
      const res = await importCsv(csv);
      expect(res.status).toBe(201);
      expect(res.body.devices.map((d: { id: string }) => d.id)).toEqual(['LIM-5']);
      expect(res.body.errors.map((e: { line: number }) => e.line)).toEqual([2, 3, 4, 5]);
      expect(res.body.errors[0].message).toMatch(/^name .* must NOT have more than 200 characters/);
      expect(res.body.errors[1].message).toMatch(/NUL/);
      expect(res.body.errors[2].message).toMatch(/^lon 181 must be <= 180/);
      expect(JSON.stringify(res.body).length).toBeLessThan(10_000);
    });
  });
});
