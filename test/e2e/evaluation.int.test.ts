import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authed, startTestHub, type TestHub } from '../support/hub.js';

const h = 3600_000;

/**
 * The evaluation of October 2026 in 湘潭市 (Asia/Shanghai, UTC+8) against
 * figures worked out by hand (issue #15). Local times are written with their
 * offset so the period boundary (1 November 00:00 local = 31 October 16:00
 * UTC) is visible.
 */
interface FixtureCase {
  code: string;
  district: 'A' | 'B';
  state: string;
  source?: 'alarm' | 'hotline' | 'inspection' | 'other';
  created: string;
  dueH: number;
  dispatchedH?: number;
  handledH?: number;
  closedH?: number;
  rework?: number;
  extensions?: number;
  deferred?: boolean;
  /** Reassigned once after dispatch: not an accurate dispatch. */
  reassigned?: boolean;
}

const fixture: FixtureCase[] = [
  // A1 on time: handled at 10 h, closed at 20 h of a 24 h deadline. From a sensor.
  {
    code: 'A1',
    district: 'A',
    state: 'closed',
    source: 'alarm',
    created: '2026-10-05T10:00:00+08:00',
    dueH: 24,
    dispatchedH: 1,
    handledH: 10,
    closedH: 20,
  },
  // A2 late and reworked once, reassigned once: handled at 30 h, closed at 40 h.
  {
    code: 'A2',
    district: 'A',
    state: 'closed',
    source: 'hotline',
    created: '2026-10-05T10:00:00+08:00',
    dueH: 24,
    dispatchedH: 2,
    handledH: 30,
    closedH: 40,
    rework: 1,
    reassigned: true,
  },
  // A3 deferred (缓办) with its deadline passed: due, but out of the closure denominators.
  {
    code: 'A3',
    district: 'A',
    state: 'deferred',
    created: '2026-10-06T10:00:00+08:00',
    dueH: 24,
    deferred: true,
  },
  // A4 extended (延期) to 10 days: its deadline moved past the period's end, so not due yet.
  {
    code: 'A4',
    district: 'A',
    state: 'in_handling',
    source: 'inspection',
    created: '2026-10-28T10:00:00+08:00',
    dueH: 240,
    dispatchedH: 1,
    extensions: 1,
  },
  // A5 crosses the boundary: registered 31 Oct 20:00 local, due 22:00, handled on 1 November:
  // due in October, not handled by its end: overdue pending.
  {
    code: 'A5',
    district: 'A',
    state: 'handled',
    created: '2026-10-31T20:00:00+08:00',
    dueH: 2,
    dispatchedH: 0.5,
    handledH: 13,
  },
  // Registered 1 November 01:00 local (31 October 17:00 UTC): November's, not October's.
  {
    code: 'A6',
    district: 'A',
    state: 'registered',
    created: '2026-11-01T01:00:00+08:00',
    dueH: 24,
  },
  // B1 over a holiday: Friday 9 October 16:30 to Tuesday 13 October 09:30, Monday 12th a
  // holiday: 1 h on Friday + 1 h on Tuesday = 2 working hours (08:30–12:00, 13:30–17:30).
  {
    code: 'B1',
    district: 'B',
    state: 'closed',
    source: 'alarm',
    created: '2026-10-09T16:30:00+08:00',
    dueH: 96,
    dispatchedH: 0.5,
    handledH: 89,
    closedH: 90,
  },
  // September: B's previous period, one case closed late (score for 环比).
  {
    code: 'B-sep',
    district: 'B',
    state: 'closed',
    created: '2026-09-10T10:00:00+08:00',
    dueH: 24,
    dispatchedH: 1,
    handledH: 30,
    closedH: 31,
  },
];

describe('evaluation of a month (月考核)', () => {
  let t: TestHub;
  const grids: Record<'A' | 'B', string> = { A: '', B: '' };
  let get: (url: string, init?: RequestInit) => Promise<Response>;

  beforeAll(async () => {
    t = await startTestHub({ CASE_TICK_INTERVAL_MS: '3600000' });
    get = authed(t.adminToken);
    const db = t.hub.db.pool;
    for (const [key, district] of [
      ['A', '430302'],
      ['B', '430304'],
    ] as const) {
      const { rows } = await db.query<{ code: string }>(
        `SELECT code FROM areas WHERE level = 'grid' AND code LIKE $1 ORDER BY code LIMIT 1`,
        [district + '%'],
      );
      grids[key] = rows[0]!.code;
    }
    for (const c of fixture) {
      const base = Date.parse(c.created);
      const at = (hours?: number) => (hours === undefined ? null : new Date(base + hours * h));
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO cases (code, state, kind, severity, title, facility_type, grid_code, department_id,
           crew_id, source, created_at, updated_at, due_at, dispatched_at, handled_at, closed_at,
           rework_count, extension_count, deferred_at)
         VALUES ($1, $2, 'component', 'major', $3, 'streetlight', $4, 'lighting', NULL, $5, $6, $6,
           $7, $8, $9, $10, $11, $12, $13)
         RETURNING id`,
        [
          `EVAL-${c.code}`,
          c.state,
          c.district === 'A' ? '路灯不亮' : '井盖移位',
          grids[c.district],
          c.source ?? 'other',
          new Date(base),
          at(c.dueH),
          at(c.dispatchedH),
          at(c.handledH),
          at(c.closedH),
          c.rework ?? 0,
          c.extensions ?? 0,
          c.deferred ? at(30) : null,
        ],
      );
      if (c.reassigned)
        await db.query(
          `INSERT INTO case_events (version, case_id, at, action, reason, from_state, to_state, snapshot)
           VALUES (nextval('case_version_seq'), $1, $2, 'reassign', 'operator', 'dispatched',
             'dispatched', '{}')`,
          [rows[0]!.id, at(3)],
        );
    }
    // Monday 12 October 2026 off (a holiday for the fixture).
    const res = await get(`${t.httpUrl}/api/calendar/days`, {
      method: 'PUT',
      body: JSON.stringify({ days: [{ date: '2026-10-12', kind: 'holiday', name: 'fixture' }] }),
    });
    expect(res.status).toBe(200);
  });
  afterAll(async () => {
    await t?.stop();
  });

  // Response bodies are checked field by field; a loose type keeps that readable.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const evaluation = async (query: string): Promise<any> => {
    const res = await get(`${t.httpUrl}/api/evaluation?${query}`);
    expect(res.status, await res.clone().text()).toBe(200);
    return res.json();
  };

  it('computes every indicator of each district as worked out by hand', async () => {
    const e = await evaluation('period=2026-10&level=district');
    expect(e.period).toMatchObject({
      kind: 'month',
      label: '2026-10',
      from: '2026-09-30T16:00:00.000Z',
      to: '2026-10-31T16:00:00.000Z',
    });
    const a = e.rows.find((r: { key: string }) => r.key === '430302');
    // Registered A1–A5 (A6 is November's). Due: A1, A2, A3, A5 (A4's deadline moved on).
    expect(a.indicators).toMatchObject({
      registered: 5,
      dispatched: 4, // A1, A2, A4, A5
      closed: 2,
      due: 4,
      deferred: 1,
      closureRate: 0.6667, // 2 ÷ (4 − 1)
      onTimeClosureRate: 0.3333, // A1 ÷ 3
      handlingRate: 0.5, // A1, A2 ÷ 4 (A5 handled after the period)
      onTimeHandlingRate: 0.25,
      reworkRate: 0.25,
      overduePending: 1, // A5
      overduePendingRate: 0.25,
      extensionRate: 0, // A4 is not due
      accurateDispatchRate: 0.75, // A2 was reassigned
      fromSensors: 1,
      fromHotline: 1,
      fromInspection: 1,
      meanHandleHours: 20, // (10 + 30) ÷ 2
    });
    // Score: 30 × 0.5 + 20 × 0.25 + 20 × 0.75 + 20 × 0.75 + 10 × 1 = 60 of 100.
    expect(a.score).toBe(60);
    expect(a.parts).toEqual({
      handlingRate: 15,
      onTimeHandlingRate: 5,
      reworkRate: 15,
      overduePendingRate: 15,
      extensionRate: 10,
    });
    const b = e.rows.find((r: { key: string }) => r.key === '430304');
    expect(b.indicators).toMatchObject({ registered: 1, closed: 1, closureRate: 1 });
    // B1 over the holiday: 2 working hours, 88.5 calendar hours.
    expect(b.indicators.meanHandleWorkingHours).toBe(2);
    expect(b.indicators.meanHandleHours).toBe(89);
    expect(b.score).toBe(100);
    // September: handled late, nothing else wrong: 30 + 0 + 20 + 20 + 10 = 80.
    expect(b.previousScore).toBe(80);
    expect(b.scoreChange).toBe(20);
    expect(b.lastYearScore).toBeNull();
    expect([b.rank, a.rank]).toEqual([1, 2]);
    expect(e.hotspots[0]).toMatchObject({ gridCode: grids.A, cases: 5 });
    expect(e.topProblems[0]).toMatchObject({ title: '路灯不亮', cases: 5 });
  });

  it('keeps a case in the grid it was registered in when its device moves', async () => {
    await t.hub.db.pool.query(`UPDATE devices SET grid_code = $1 WHERE grid_code = $2`, [
      grids.B,
      grids.A,
    ]);
    const e = await evaluation('period=2026-10&level=district');
    expect(e.rows.find((r: { key: string }) => r.key === '430302').indicators.registered).toBe(5);
  });

  it('ranks departments and the whole city with the same formulas', async () => {
    const city = await evaluation('period=2026-10&level=city');
    expect(city.rows).toHaveLength(1);
    expect(city.rows[0].indicators).toMatchObject({ registered: 6, due: 5, closed: 3 });
    const dept = await evaluation('period=2026-10&level=department');
    expect(dept.rows.map((r: { key: string }) => r.key)).toEqual(['lighting']);
    expect((await get(`${t.httpUrl}/api/evaluation?period=2026-13`)).status).toBe(400);
    expect((await get(`${t.httpUrl}/api/evaluation?period=2026-10&sort=x`)).status).toBe(400);
  });

  it('stores a monthly report, versions a regeneration and keeps its figures when data arrives', async () => {
    const make = async () => {
      const res = await get(`${t.httpUrl}/api/reports`, {
        method: 'POST',
        body: JSON.stringify({ kind: 'monthly', period: '2026-10' }),
      });
      expect(res.status, await res.clone().text()).toBe(201);
      return (await res.json()) as { id: number; version: number };
    };
    const first = await make();
    expect(first.version).toBe(1);
    const before = await (await get(`${t.httpUrl}/api/reports/${first.id}`)).json();
    await t.hub.db.pool.query(
      `INSERT INTO cases (code, state, kind, severity, title, grid_code, source, created_at, updated_at, due_at)
       VALUES ('EVAL-late', 'registered', 'event', 'minor', 'late', $1, 'other',
         '2026-10-20T10:00:00+08:00', now(), '2026-10-21T10:00:00+08:00')`,
      [grids.B],
    );
    const after = await (await get(`${t.httpUrl}/api/reports/${first.id}`)).json();
    expect(after.figures).toEqual(before.figures);
    const second = await make();
    expect(second.version).toBe(2);
    const list = await (await get(`${t.httpUrl}/api/reports?kind=monthly&period=2026-10`)).json();
    expect(list.reports.map((r: { version: number }) => r.version)).toEqual([2, 1]);
    const wrongKind = await get(`${t.httpUrl}/api/reports`, {
      method: 'POST',
      body: JSON.stringify({ kind: 'monthly', period: '2026-Q4' }),
    });
    expect(wrongKind.status).toBe(400);
  });

  it('writes the report as an Excel workbook whose cells are the API’s numbers', async () => {
    const list = await (await get(`${t.httpUrl}/api/reports?kind=monthly&period=2026-10`)).json();
    const id = list.reports[0].id as number;
    const report = await (await get(`${t.httpUrl}/api/reports/${id}`)).json();
    const res = await get(`${t.httpUrl}/api/reports/${id}/xlsx`);
    expect(res.headers.get('content-type')).toContain('spreadsheetml');
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(Buffer.from(await res.arrayBuffer()) as unknown as ArrayBuffer);
    expect(book.worksheets.map((s) => s.name)).toEqual([
      '概览',
      '区县排名',
      '街道排名',
      '部门排名',
      '班组排名',
      '问题类型',
      '热点网格',
    ]);
    const sheet = book.getWorksheet('区县排名')!;
    const header = (sheet.getRow(1).values as unknown[]).slice(1);
    expect(header.slice(0, 6)).toEqual([
      '排名',
      '编码',
      '名称',
      '综合得分',
      '环比（分）',
      '同比（分）',
    ]);
    const col = (name: string) => header.indexOf(name) + 1;
    const districts = report.figures.evaluations.find(
      (e: { level: string }) => e.level === 'district',
    );
    districts.rows.forEach(
      (
        r: { key: string; rank: number; score: number; indicators: Record<string, number> },
        i: number,
      ) => {
        const row = sheet.getRow(i + 2);
        expect(row.getCell(col('编码')).value).toBe(r.key);
        expect(row.getCell(col('排名')).value).toBe(r.rank);
        expect(row.getCell(col('综合得分')).value).toBe(r.score);
        expect(row.getCell(col('结案率')).value).toBe(r.indicators.closureRate);
        expect(row.getCell(col('结案率')).numFmt).toBe('0.00%');
        expect(row.getCell(col('立案数')).value).toBe(r.indicators.registered);
      },
    );
    const print = await get(`${t.httpUrl}/api/reports/${id}/print`);
    expect(print.headers.get('content-type')).toContain('text/html');
    const html = await print.text();
    expect(html).toContain('月度考核');
    expect(html).toContain('<svg');
  });

  it('sets the score weights for admins only and scores with them', async () => {
    const weights = {
      handlingRate: 100,
      onTimeHandlingRate: 0,
      reworkRate: 0,
      overduePendingRate: 0,
      extensionRate: 0,
    };
    const res = await get(`${t.httpUrl}/api/evaluation/weights`, {
      method: 'PUT',
      body: JSON.stringify(weights),
    });
    expect(res.status).toBe(200);
    const e = await evaluation('period=2026-10&level=district');
    expect(e.rows.find((r: { key: string }) => r.key === '430302').score).toBe(50);
    const none = await get(`${t.httpUrl}/api/evaluation/weights`, {
      method: 'PUT',
      body: JSON.stringify({ ...weights, handlingRate: 0 }),
    });
    expect(none.status).toBe(400);
  });
});
