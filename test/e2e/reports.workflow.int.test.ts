import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import type {
  ClientToServerEvents,
  FieldReportChange,
  ServerToClientEvents,
  VerificationRequest,
} from '../../src/domain/index.js';
import {
  authed,
  connectOperator,
  createUsers,
  lightingAreas,
  startTestHub,
  streetlightPlace,
  waitFor,
  type TestHub,
} from '../support/hub.js';
import { photoForm } from '../support/photos.js';

type Fetch = ReturnType<typeof authed>;
type Live = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * Grid officers and citizens through REST and socket.io (issue #16): an
 * inspector patrols and reports, the control room accepts, a duplicate is
 * merged, the crew handles, the inspector fails the on-site verification
 * (rework) and then passes it, the case and both reports close together;
 * a citizen reports without a login, follows the tracking code and rates the
 * closed case once; the evaluation counts the reports and the rating.
 */
describe('field reports: report → accept → dispatch → handle → verify on site → close → rate', () => {
  let t: TestHub;
  const as: Record<string, Fetch> = {};
  const ids: Record<string, number> = {};
  const tokens: Record<string, string> = {};
  const live: Live[] = [];
  let grid = '';
  let district = '';
  let lat = 0;
  let lon = 0;
  const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as any }); // eslint-disable-line @typescript-eslint/no-explicit-any

  beforeAll(async () => {
    t = await startTestHub({ CASE_TICK_INTERVAL_MS: '3600000' });
    ({ grid, district } = lightingAreas(t));
    const users = await createUsers(t.httpUrl, t.adminToken, [
      { username: 'op1', role: 'operator' },
      { username: 'sup1', role: 'supervisor' },
      { username: 'insp1', role: 'inspector', areaCode: grid },
      { username: 'crew-a', role: 'crew', crewId: `lighting-${district}` },
    ]);
    for (const [name, u] of Object.entries(users)) {
      as[name] = authed(u.token);
      ids[name] = u.id;
      tokens[name] = u.token;
    }
    ({ lat, lon } = await streetlightPlace(t));
  });
  afterAll(async () => {
    for (const s of live) s.close();
    await t?.stop();
  });

  const post = (who: string, url: string, body: object | FormData = {}) =>
    as[who]!(`${t.httpUrl}${url}`, {
      method: 'POST',
      body: body instanceof FormData ? body : JSON.stringify(body),
    }).then(json);
  const get = (who: string, url: string) => as[who]!(`${t.httpUrl}${url}`).then(json);
  const act = (who: string, id: number, action: string, body: object = {}) =>
    post(who, `/api/cases/${id}/actions/${action}`, body);

  it('every facility type maps to a category in the catalog', async () => {
    const { status, body } = await get('op1', '/api/categories');
    expect(status).toBe(200);
    expect(body.majors.length).toBeGreaterThanOrEqual(12);
    const codes = new Set(body.categories.map((c: { code: string }) => c.code));
    expect(codes.has('B0125')).toBe(true);
    const catalog = await get('op1', '/api/catalog');
    for (const code of Object.values(catalog.body.classification.facilityCategories)) {
      expect(codes.has(code as string)).toBe(true);
    }
  });

  it('keeps a patrol track with its gaps', async () => {
    const started = await post('insp1', '/api/patrols');
    expect(started.status).toBe(201);
    expect((await post('insp1', '/api/patrols')).body.code).toBe('HUB_ERR_PATROL_OPEN');
    const id = started.body.id as number;
    const at = (s: number) => new Date(Date.parse('2026-12-01T01:00:00Z') + s * 1000).toISOString();
    const first = await post('insp1', `/api/patrols/${id}/points`, {
      points: [
        { at: at(0), lat, lon, accuracy: 5 },
        { at: at(30), lat: lat + 0.0005, lon, accuracy: 5 },
      ],
    });
    expect(first.status).toBe(200);
    // The phone was offline for ten minutes: a gap, then the next batch (one fix repeated).
    await post('insp1', `/api/patrols/${id}/points`, {
      points: [
        { at: at(30), lat: lat + 0.0005, lon },
        { at: at(630), lat: lat + 0.001, lon },
        { at: at(660), lat: lat + 0.0015, lon },
      ],
    });
    const ended = await post('insp1', `/api/patrols/${id}/end`);
    expect(ended.body).toMatchObject({ pointCount: 4, gapCount: 1, gridCode: grid });
    expect(ended.body.distanceM).toBeGreaterThan(100);
    const track = await get('insp1', `/api/patrols/${id}`);
    expect(track.body.segments.map((s: unknown[]) => s.length)).toEqual([2, 2]);
    expect(
      (await post('insp1', `/api/patrols/${id}/points`, { points: [{ at: at(700), lat, lon }] }))
        .body.code,
    ).toBe('HUB_ERR_PATROL_ENDED');
    const mine = await get('insp1', '/api/patrols');
    expect(mine.body.patrols.map((p: { id: number }) => p.id)).toContain(id);
  });

  let first = 0;
  let second = 0;
  let caseId = 0;
  let firstCode = '';
  let secondCode = '';

  it('takes a report with photos into the control room queue, with its duplicate', async () => {
    const opLive = connectOperator(t.httpUrl, tokens.op1!);
    live.push(opLive);
    const created: FieldReportChange[] = [];
    opLive.on('fieldReport:changed', (c) => created.push(c));
    await new Promise((r) => opLive.once('cases:snapshot', r));

    const noPhoto = await post(
      'insp1',
      '/api/field-reports',
      photoForm({ categoryCode: 'B0125', lat, lon }, 0),
    );
    expect(noPhoto.body.code).toBe('HUB_ERR_PHOTO_REQUIRED');
    const badCategory = await post(
      'insp1',
      '/api/field-reports',
      photoForm({ categoryCode: 'B9999', lat, lon }),
    );
    expect(badCategory.body.code).toBe('HUB_ERR_CATEGORY_UNKNOWN');
    const html = new FormData();
    html.append('categoryCode', 'B0125');
    html.append('lat', String(lat));
    html.append('lon', String(lon));
    html.append('photo', new Blob(['<html>hi</html>'], { type: 'image/png' }), 'x.png');
    expect((await post('insp1', '/api/field-reports', html)).body.code).toBe('HUB_ERR_PHOTO_TYPE');

    const a = await post(
      'insp1',
      '/api/field-reports',
      photoForm({ categoryCode: 'B0125', lat, lon, accuracy: 8, note: '路灯不亮，灯罩破损' }, 2),
    );
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({
      state: 'reported',
      source: 'inspection',
      categoryCode: 'B0125',
      kind: 'component',
      gridCode: grid,
      reporterId: ids.insp1,
      accuracyM: 8,
    });
    expect(a.body.photoIds).toHaveLength(2);
    expect(Date.parse(a.body.acceptDueAt) - Date.parse(a.body.createdAt)).toBe(60 * 60_000);
    first = a.body.id;
    firstCode = a.body.code;
    const b = await post(
      'insp1',
      '/api/field-reports',
      photoForm({ categoryCode: 'B0125', lat: lat + 0.0001, lon, note: '同一盏路灯' }),
    );
    second = b.body.id;
    secondCode = b.body.code;

    await waitFor(
      () => (created.length >= 2 ? true : undefined),
      'fieldReport:changed to operators',
    );
    expect(created.map((c) => c.reason)).toEqual(['created', 'created']);

    const queue = await get('op1', '/api/field-reports/queue');
    const item = queue.body.items.find((i: { report: { id: number } }) => i.report.id === second);
    expect(item.duplicates).toEqual([
      expect.objectContaining({ type: 'report', id: first, categoryCode: 'B0125' }),
    ]);
    expect(item.duplicates[0].distanceM).toBeLessThanOrEqual(50);
    // The photo is served as an image to who may read the report.
    const photo = await as.op1!(
      `${t.httpUrl}/api/field-reports/${first}/photos/${a.body.photoIds[0]}`,
    );
    expect(photo.headers.get('content-type')).toBe('image/png');
    // An inspector sees its own reports, not the queue.
    expect((await get('insp1', '/api/field-reports/queue')).status).toBe(403);
    expect((await get('insp1', '/api/field-reports')).body.reports).toHaveLength(2);
  });

  it('accepts one as a case that follows the workflow and merges the duplicate into it', async () => {
    const accepted = await post('op1', `/api/field-reports/${first}/accept`, {
      severity: 'minor',
      facilityType: 'streetlight',
    });
    expect(accepted.status).toBe(200);
    expect(accepted.body.report).toMatchObject({ state: 'accepted', decidedBy: 'op1' });
    expect(accepted.body.case).toMatchObject({
      source: 'inspection',
      categoryCode: 'B0125',
      gridCode: grid,
      state: 'dispatched',
      crewId: `lighting-${district}`,
    });
    caseId = accepted.body.case.id;
    expect((await post('op1', `/api/field-reports/${first}/accept`)).body.code).toBe(
      'HUB_ERR_REPORT_STATE',
    );
    const merged = await post('op1', `/api/field-reports/${second}/merge`, { reportId: first });
    expect(merged.body.report).toMatchObject({ state: 'merged', mergedIntoId: first, caseId });
    // The reported photos are the case's too.
    const detail = await get('op1', `/api/cases/${caseId}`);
    expect(detail.body.case.categoryCode).toBe('B0125');
  });

  it('sends the handled case to the inspector, whose failed verification returns it as rework', async () => {
    const inspLive = connectOperator(t.httpUrl, tokens.insp1!);
    live.push(inspLive);
    const requests: VerificationRequest[] = [];
    inspLive.on('verification:requested', (r) => requests.push(r));
    await new Promise<void>((r) => inspLive.once('connect', () => r()));

    expect((await act('crew-a', caseId, 'accept')).status).toBe(200);
    expect((await act('crew-a', caseId, 'handle', { note: '已更换灯具' })).status).toBe(200);
    const req = await waitFor(() => requests[0], 'verification:requested');
    expect(req.task).toMatchObject({ caseId, gridCode: grid, categoryCode: 'B0125' });
    const tasks = await get('insp1', '/api/verifications');
    expect(tasks.body.tasks.map((x: { caseId: number }) => x.caseId)).toContain(caseId);

    const noReason = await post(
      'insp1',
      `/api/cases/${caseId}/verification`,
      photoForm({ result: 'failed' }),
    );
    expect(noReason.status).toBe(400);
    const failed = await post(
      'insp1',
      `/api/cases/${caseId}/verification`,
      photoForm({ result: 'failed', note: '灯仍不亮' }),
    );
    expect(failed.status).toBe(200);
    expect(failed.body.case).toMatchObject({ state: 'in_handling', reworkCount: 1 });
    expect(failed.body.verification).toMatchObject({
      result: 'failed',
      inspectorName: 'insp1',
      onTime: true,
    });
  });

  it('passes the on-site verification with a photo: the case and both reports close', async () => {
    expect((await act('crew-a', caseId, 'handle', { note: '更换镇流器' })).status).toBe(200);
    const noPhoto = await post(
      'insp1',
      `/api/cases/${caseId}/verification`,
      photoForm({ result: 'passed' }, 0),
    );
    expect(noPhoto.body.code).toBe('HUB_ERR_PHOTO_REQUIRED');
    const passed = await post(
      'insp1',
      `/api/cases/${caseId}/verification`,
      photoForm({ result: 'passed' }),
    );
    expect(passed.status).toBe(200);
    expect(passed.body.case.state).toBe('closed');
    const history = await get('op1', `/api/cases/${caseId}/verifications`);
    expect(history.body.verifications.map((v: { result: string }) => v.result)).toEqual([
      'failed',
      'passed',
    ]);
    for (const code of [firstCode, secondCode]) {
      const view = await fetch(`${t.httpUrl}/api/public/reports/${code}`).then(json);
      expect(view.body).toMatchObject({ code, status: 'closed', canRate: true });
      expect(view.body).not.toHaveProperty('reporterName');
      expect(view.body).not.toHaveProperty('lat');
    }
  });

  it('lets a citizen report without a login, follow the code and rate the closed case once', async () => {
    const cats = await fetch(`${t.httpUrl}/api/public/categories`).then(json);
    expect(cats.body.categories.every((c: { public: boolean }) => c.public)).toBe(true);
    const sent = await fetch(`${t.httpUrl}/api/public/reports`, {
      method: 'POST',
      headers: { 'x-device-fingerprint': 'citizen-phone-1' },
      body: photoForm({ categoryCode: 'S0102', lat, lon, note: '路边暴露垃圾' }),
    }).then(json);
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({ status: 'received' });
    const code = sent.body.code as string;
    const early = await fetch(`${t.httpUrl}/api/public/reports/${code}/rating`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rating: 'satisfied' }),
    }).then(json);
    expect(early.body.code).toBe('HUB_ERR_RATING_NOT_OPEN');

    // Rubbish (市容环境 events, S01) in this grid goes to a crew of its own: a route by category.
    const route = await authed(t.adminToken)(`${t.httpUrl}/api/dispatch-routes`, {
      method: 'POST',
      body: JSON.stringify({
        areaPrefix: grid,
        crewId: `lighting-${district}`,
        categoryCode: 'S01',
      }),
    }).then(json);
    expect(route.status).toBe(201);
    expect(route.body.categoryCode).toBe('S01');
    const queued = await get('op1', '/api/field-reports?source=citizen');
    const report = queued.body.reports.find((r: { code: string }) => r.code === code);
    expect(report).toMatchObject({ reporterId: null, reporterName: null, source: 'citizen' });
    const accepted = await post('op1', `/api/field-reports/${report.id}/accept`);
    expect(accepted.body.case.source).toBe('citizen');
    expect(accepted.body.case.categoryCode).toBe('S0102');
    const cid = accepted.body.case.id as number;
    expect((await fetch(`${t.httpUrl}/api/public/reports/${code}`).then(json)).body.status).toBe(
      'in_progress',
    );
    expect(accepted.body.case).toMatchObject({
      state: 'dispatched',
      crewId: `lighting-${district}`,
    });
    const admin = authed(t.adminToken);
    for (const [action, body] of [
      ['accept', {}],
      ['handle', { note: '已清运' }],
      ['verify', {}],
      ['close', {}],
    ] as const) {
      const res = await admin(`${t.httpUrl}/api/cases/${cid}/actions/${action}`, {
        method: 'POST',
        body: JSON.stringify(body),
      });
      expect(res.status, action).toBe(200);
    }
    const rate = () =>
      fetch(`${t.httpUrl}/api/public/reports/${code}/rating`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ rating: 'satisfied', comment: '很快就处理了' }),
      }).then(json);
    const rated = await rate();
    expect(rated.status).toBe(201);
    expect((await rate()).body.code).toBe('HUB_ERR_RATING_EXISTS');
    expect((await fetch(`${t.httpUrl}/api/public/reports/${code}`).then(json)).body).toMatchObject({
      status: 'closed',
      rating: 'satisfied',
      canRate: false,
    });
  });

  it('rejects a report with a reason', async () => {
    const r = await post(
      'insp1',
      '/api/field-reports',
      photoForm({ categoryCode: 'S0505', lat, lon }),
    );
    const dup = await post('op1', `/api/field-reports/${r.body.id}/reject`, {
      reason: 'duplicate',
    });
    expect(dup.status).toBe(400);
    const rejected = await post('op1', `/api/field-reports/${r.body.id}/reject`, {
      reason: 'outside_remit',
      note: '交警负责',
    });
    expect(rejected.body.report).toMatchObject({
      state: 'rejected',
      rejectReason: 'outside_remit',
    });
  });

  it('counts reports, acceptance, verification and satisfaction in the evaluation', async () => {
    const month = new Date().toISOString().slice(0, 7);
    const city = await get('sup1', `/api/evaluation?period=${month}&level=city`);
    expect(city.status).toBe(200);
    const row = city.body.rows[0];
    expect(row.indicators).toMatchObject({
      reportsReceived: 4,
      validReports: 3,
      reportingAccuracy: 0.75,
      onTimeAcceptanceRate: 1,
      onTimeVerificationRate: 1,
      satisfactionRate: 1,
    });
    expect(city.body.categories).toEqual(
      expect.arrayContaining([expect.objectContaining({ categoryCode: 'B0125', cases: 1 })]),
    );
    const perInspector = await get('sup1', `/api/evaluation/inspectors?period=${month}`);
    expect(perInspector.body.rows).toEqual([
      expect.objectContaining({ inspectorId: ids.insp1, reportsReceived: 3, validReports: 2 }),
    ]);
  });

  it('exports cases with their category', async () => {
    const res = await as.op1!(`${t.httpUrl}/api/cases/export?format=csv`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const [header, ...lines] = text
      .replace(/^\uFEFF/, '')
      .trim()
      .split(/\r?\n/);
    expect(header).toContain('categoryCode');
    expect(lines.some((l) => l.includes('B0125') && l.includes('路灯'))).toBe(true);
  });
});
