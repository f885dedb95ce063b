import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authed, startTestHub, type TestHub } from '../support/hub.js';

const h = 3600_000;

interface FixtureCase {
  district: 'A' | 'B';
  department: string;
  state: string;
  created: string;
  dueH: number;
  dispatchedH?: number;
  acceptedH?: number;
  handledH?: number;
  closedH?: number;
  rework?: number;
  extensions?: number;
}

/**
 * The KPI formulas of domain.md against a fixture computed by hand (issue #5).
 * October 2026, evaluated as of 1 November 00:00 UTC. Hours are offsets from
 * each case's registration.
 */
const fixture: FixtureCase[] = [
  // A1: handled at 10 h, closed at 20 h, deadline 24 h: on time.
  {
    district: 'A',
    department: 'lighting',
    state: 'closed',
    created: '2026-10-05T00:00:00Z',
    dueH: 24,
    dispatchedH: 1,
    acceptedH: 2,
    handledH: 10,
    closedH: 20,
  },
  // A2: handled at 30 h, closed at 40 h: late, reworked once.
  {
    district: 'A',
    department: 'lighting',
    state: 'closed',
    created: '2026-10-05T00:00:00Z',
    dueH: 24,
    dispatchedH: 2,
    acceptedH: 4,
    handledH: 30,
    closedH: 40,
    rework: 1,
  },
  // A3: deferred (缓办), deadline passed: due but out of the closure denominators.
  {
    district: 'A',
    department: 'lighting',
    state: 'deferred',
    created: '2026-10-05T00:00:00Z',
    dueH: 24,
  },
  // A4: extended to 48 h, still not handled by 1 November: overdue pending.
  {
    district: 'A',
    department: 'lighting',
    state: 'in_handling',
    created: '2026-10-05T00:00:00Z',
    dueH: 48,
    dispatchedH: 1,
    acceptedH: 3,
    extensions: 1,
  },
  // A5: cancelled (false alarm): counted nowhere.
  {
    district: 'A',
    department: 'lighting',
    state: 'cancelled',
    created: '2026-10-06T00:00:00Z',
    dueH: 24,
  },
  // A6: registered on 31 October at noon, due after the evaluation time: not yet due.
  {
    district: 'A',
    department: 'lighting',
    state: 'dispatched',
    created: '2026-10-31T12:00:00Z',
    dueH: 24,
    dispatchedH: 1,
  },
  // B1: closed on time.
  {
    district: 'B',
    department: 'drainage',
    state: 'closed',
    created: '2026-10-10T00:00:00Z',
    dueH: 24,
    dispatchedH: 0.5,
    acceptedH: 1,
    handledH: 3,
    closedH: 5,
  },
  // September: outside the period.
  {
    district: 'B',
    department: 'drainage',
    state: 'closed',
    created: '2026-09-10T00:00:00Z',
    dueH: 24,
    dispatchedH: 1,
    acceptedH: 2,
    handledH: 3,
    closedH: 4,
  },
];

describe('case KPIs', () => {
  let t: TestHub;
  const grids: Record<'A' | 'B', string> = { A: '', B: '' };

  beforeAll(async () => {
    t = await startTestHub({ CASE_TICK_INTERVAL_MS: '3600000' });
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
    let n = 0;
    for (const c of fixture) {
      const base = Date.parse(c.created);
      const at = (hours?: number) => (hours === undefined ? null : new Date(base + hours * h));
      n++;
      await db.query(
        `INSERT INTO cases (code, state, kind, severity, title, grid_code, department_id, source,
           created_at, updated_at, due_at, dispatched_at, accepted_at, handled_at, closed_at,
           rework_count, extension_count)
         VALUES ($1, $2, 'component', 'major', 'fixture', $3, $4, 'other', $5, $5, $6, $7, $8, $9,
           $10, $11, $12)`,
        [
          `KPI-${n}`,
          c.state,
          grids[c.district],
          c.department,
          new Date(base),
          at(c.dueH),
          at(c.dispatchedH),
          at(c.acceptedH),
          at(c.handledH),
          at(c.closedH),
          c.rework ?? 0,
          c.extensions ?? 0,
        ],
      );
    }
  });
  afterAll(async () => {
    await t?.stop();
  });

  const kpis = async (groupBy: string) => {
    const res = await authed(t.adminToken)(
      `${t.httpUrl}/api/kpis?groupBy=${groupBy}&from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z&asOf=2026-11-01T00:00:00Z`,
    );
    expect(res.status).toBe(200);
    return ((await res.json()) as { rows: Record<string, unknown>[] }).rows;
  };

  it('computes closure, handling, rework, overdue and extension rates per district as the municipal formulas state', async () => {
    const rows = await kpis('district');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toEqual({
      key: '430302',
      registered: 5,
      dispatched: 4, // A1, A2, A4, A6
      dispatchedAccurately: 4,
      fromSensors: 0,
      fromHotline: 0,
      fromInspection: 0,
      due: 4,
      deferred: 1,
      closed: 2,
      closedOnTime: 1,
      handled: 2,
      handledOnTime: 1,
      reworked: 1,
      overduePending: 1,
      extended: 1,
      closureRate: 0.6667, // 2 ÷ (4 − 1)
      onTimeClosureRate: 0.3333, // 1 ÷ (4 − 1)
      handlingRate: 0.5, // 2 ÷ 4
      onTimeHandlingRate: 0.25, // 1 ÷ 4
      reworkRate: 0.25,
      overduePendingRate: 0.25,
      extensionRate: 0.25,
      accurateDispatchRate: 1,
      meanDispatchS: 4500, // (1 + 2 + 1 + 1) h ÷ 4
      meanAcceptS: 6000, // (1 + 2 + 2) h ÷ 3
      meanHandleS: 61200, // (8 + 26) h ÷ 2
      meanCloseS: 108000, // (20 + 40) h ÷ 2
      meanHandledAfterS: 72000, // (10 + 30) h ÷ 2
    });
    expect(rows[1]).toMatchObject({
      key: '430304',
      registered: 1,
      due: 1,
      closureRate: 1,
      onTimeClosureRate: 1,
      meanCloseS: 5 * 3600,
    });
  });

  it('groups the same cases by department and by month', async () => {
    const byDepartment = await kpis('department');
    expect(byDepartment.map((r) => [r.key, r.registered])).toEqual([
      ['drainage', 1],
      ['lighting', 5],
    ]);
    const [october] = await kpis('month');
    expect(october).toMatchObject({
      key: '2026-10',
      registered: 6,
      due: 5,
      deferred: 1,
      closed: 3,
      closureRate: 0.75, // 3 ÷ (5 − 1)
      onTimeClosureRate: 0.5, // 2 ÷ 4
      handlingRate: 0.6, // 3 ÷ 5
      onTimeHandlingRate: 0.4,
      reworkRate: 0.2,
      overduePendingRate: 0.2,
      extensionRate: 0.2,
    });
    const [community] = await kpis('community');
    expect(community!.key).toBe(grids.A.slice(0, 12));
    const onlyB = await kpis('district&area=430304');
    expect(onlyB.map((r) => r.key)).toEqual(['430304']);
  });

  it('names the top problem types of a period, in an area, for the KPI view', async () => {
    const api = authed(t.adminToken);
    const problems = async (query: string) => {
      const res = await api(`${t.httpUrl}/api/kpis/problems?${query}`);
      return { status: res.status, body: (await res.json()) as { rows: unknown[] } };
    };
    const october = 'from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z';
    // The fixture's cases have no alarm: one problem type by their title; September's is outside.
    expect((await problems(october)).body.rows).toEqual([
      { facilityType: null, ruleId: null, title: 'fixture', cases: 6 },
    ]);
    expect((await problems(`${october}&area=430304`)).body.rows).toEqual([
      { facilityType: null, ruleId: null, title: 'fixture', cases: 1 },
    ]);
    expect((await problems('from=2026-11-01T00:00:00Z&to=2026-10-01T00:00:00Z')).status).toBe(400);
  });
});
