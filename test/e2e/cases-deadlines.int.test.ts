import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseDetail } from '../../src/domain/index.js';
import {
  authed,
  connectDevice,
  login,
  startTestHub,
  waitFor,
  type TestHub,
} from '../support/hub.js';

const minute = 60_000;

/**
 * Deadlines, overdue detection and escalation one level up the four-level
 * network, driven by `tick(now)` with a fake clock; auto-verify from telemetry;
 * the per-rule "alarm only" policy (issue #5).
 */
describe('case deadlines and time-driven work', () => {
  let t: TestHub;
  let clock = Date.parse('2026-11-23T02:00:00.000Z');
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    t = await startTestHub({ CASE_TICK_INTERVAL_MS: '3600000' }, 'primary', {
      now: () => new Date(clock),
    });
  });
  afterAll(async () => {
    for (const c of clients) c.end(true);
    await t?.stop();
  });

  const api = () => authed(t.adminToken);
  const caseOf = async (id: number) =>
    ((await (await api()(`${t.httpUrl}/api/cases/${id}`)).json()) as { case: CaseDetail }).case;
  const register = async (body: object) => {
    const res = await api()(`${t.httpUrl}/api/cases`, {
      method: 'POST',
      body: JSON.stringify({ source: 'inspection', ...body }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as CaseDetail;
  };

  it('marks a trapped-passenger case overdue after 30 minutes and escalates it one level per period', async () => {
    const start = clock;
    // The seven-device test city may have no elevator device; an elevator case needs only a grid.
    const grid = t.devices.gas.gridCode;
    const c = await register({
      severity: 'critical',
      title: '电梯困人',
      facilityType: 'elevator',
      gridCode: grid,
    });
    // TSG T5002: rescue within 30 min.
    expect(c.dueAt).toBe(new Date(start + 30 * minute).toISOString());
    expect(c.acceptDueAt).toBe(new Date(start + 30 * minute).toISOString());

    const deferred = await register({
      severity: 'critical',
      title: '电梯困人（缓办）',
      facilityType: 'elevator',
      gridCode: grid,
    });
    await api()(`${t.httpUrl}/api/cases/${deferred.id}/actions/defer`, {
      method: 'POST',
      body: JSON.stringify({ reason: '待整体改造' }),
    });

    expect(await t.hub.cases.tick(new Date(start + 29 * minute))).toMatchObject({
      escalated: 0,
      notAccepted: 0,
    });
    expect((await caseOf(c.id)).overdue).toBe(false);

    // Not signed for within 30 min (the deferred one is not dispatched): flagged once.
    expect(await t.hub.cases.tick(new Date(start + 31 * minute))).toMatchObject({
      escalated: 1,
      notAccepted: 1,
    });
    let now = await caseOf(c.id);
    expect(now).toMatchObject({
      overdue: true,
      acceptOverdue: true,
      escalationArea: grid.slice(0, 12),
    });
    expect((await caseOf(deferred.id)).overdue).toBe(false);

    // Not again within the same period.
    expect(await t.hub.cases.tick(new Date(start + 40 * minute))).toMatchObject({
      escalated: 0,
      notAccepted: 0,
    });
    await t.hub.cases.tick(new Date(start + 62 * minute));
    expect((await caseOf(c.id)).escalationArea).toBe(grid.slice(0, 9));
    await t.hub.cases.tick(new Date(start + 93 * minute));
    expect((await caseOf(c.id)).escalationArea).toBe(grid.slice(0, 6));
    await t.hub.cases.tick(new Date(start + 124 * minute));
    expect((await caseOf(c.id)).escalationArea).toBe('430300');
    // The city is the top: nothing further.
    expect(await t.hub.cases.tick(new Date(start + 200 * minute))).toMatchObject({ escalated: 0 });

    const detail = (await (await api()(`${t.httpUrl}/api/cases/${c.id}`)).json()) as {
      timeline: { action: string; data: { escalatedTo?: string } }[];
    };
    expect(
      detail.timeline.filter((e) => e.action === 'escalate').map((e) => e.data.escalatedTo),
    ).toEqual([grid.slice(0, 12), grid.slice(0, 9), grid.slice(0, 6), '430300']);

    // An extension granted by a supervisor moves the deadline and clears the overdue flag.
    clock = start + 201 * minute;
    const res = await api()(`${t.httpUrl}/api/cases/${c.id}/actions/extend`, {
      method: 'POST',
      body: JSON.stringify({ hours: 4 }),
    });
    expect(res.status).toBe(200);
    now = await caseOf(c.id);
    expect(now).toMatchObject({ overdue: false, extensionCount: 1 });
    expect(now.dueAt).toBe(new Date(start + 30 * minute + 4 * 3600_000).toISOString());
    expect(now.updatedAt).toBe(new Date(clock).toISOString());
  });

  it('counts working-time deadlines in working hours, skipping holidays and working make-up days', async () => {
    // Only an admin edits the calendar.
    const created = await api()(`${t.httpUrl}/api/users`, {
      method: 'POST',
      body: JSON.stringify({ username: 'op-cal', password: 'op-cal-password-1', role: 'operator' }),
    });
    expect(created.status).toBe(201);
    const operator = authed(await login(t.httpUrl, 'op-cal', 'op-cal-password-1'));
    const days = [
      { date: '2026-11-28', kind: 'workday', name: '调休上班 (fixture)' },
      { date: '2026-11-30', kind: 'holiday', name: '假日 (fixture)' },
    ];
    const refused = await operator(`${t.httpUrl}/api/calendar/days`, {
      method: 'PUT',
      body: JSON.stringify({ days }),
    });
    expect(refused.status).toBe(403);
    const put = await api()(`${t.httpUrl}/api/calendar/days`, {
      method: 'PUT',
      body: JSON.stringify({ days }),
    });
    expect(put.status).toBe(200);
    const cal = (await (await operator(`${t.httpUrl}/api/calendar`)).json()) as Record<
      string,
      unknown
    >;
    expect(cal).toMatchObject({
      timeZone: 'Asia/Shanghai',
      workingHours: [
        { start: '08:30', end: '12:00' },
        { start: '13:30', end: '17:30' },
      ],
      workingDayMinutes: 450,
      days,
    });
    const badDay = await api()(`${t.httpUrl}/api/calendar/days`, {
      method: 'PUT',
      body: JSON.stringify({ days: [{ date: '2026-02-30', kind: 'holiday' }] }),
    });
    expect(badDay.status).toBe(400);
    const sameDayTwice = await api()(`${t.httpUrl}/api/calendar/days`, {
      method: 'PUT',
      body: JSON.stringify({
        days: [
          { date: '2026-12-01', kind: 'holiday' },
          { date: '2026-12-01', kind: 'workday' },
        ],
      }),
    });
    expect(sameDayTwice.status).toBe(400);
    expect(((await sameDayTwice.json()) as { message: string }).message).toContain('twice');

    // Friday 27 November, 17:00 China Standard Time. No facility type: no route, so the case
    // waits for an operator to dispatch it.
    clock = Date.parse('2026-11-27T17:00:00+08:00');
    const c = await register({
      severity: 'minor',
      title: '井盖周边路面破损',
      gridCode: t.devices.gas.gridCode,
    });
    expect(c.state).toBe('registered');
    expect(c.deadlineUnit).toBe('working');
    // Dispatch within 1 working hour: 30 min on Friday, 30 min on the make-up Saturday.
    expect(c.dispatchDueAt).toBe(new Date('2026-11-28T09:00:00+08:00').toISOString());
    // Minor: 3 working days = 1350 working minutes: Friday 30, Saturday 450, (Sunday, the
    // Monday holiday) Tuesday 450, Wednesday 420 → Wednesday 2 December 17:00.
    expect(c.dueAt).toBe(new Date('2026-12-02T17:00:00+08:00').toISOString());

    const saturday = (hhmm: string) => new Date(`2026-11-28T${hhmm}:00+08:00`);
    expect(await t.hub.cases.tick(saturday('08:59'))).toMatchObject({ notDispatched: 0 });
    expect(await t.hub.cases.tick(saturday('09:01'))).toMatchObject({ notDispatched: 1 });
    expect(await t.hub.cases.tick(saturday('09:30'))).toMatchObject({ notDispatched: 0 });
    expect(await caseOf(c.id)).toMatchObject({ dispatchOverdue: true, overdue: false });
    const waiting = (await (await api()(`${t.httpUrl}/api/cases?dispatchOverdue=true`)).json()) as {
      cases: CaseDetail[];
    };
    expect(waiting.cases.map((x) => x.id)).toEqual([c.id]);

    // Overdue after Wednesday 17:00; the next escalation one working period (3 working days) later.
    const wednesday = Date.parse('2026-12-02T17:00:00+08:00');
    expect(await t.hub.cases.tick(new Date(wednesday - minute))).toMatchObject({ escalated: 0 });
    expect(await t.hub.cases.tick(new Date(wednesday + minute))).toMatchObject({ escalated: 1 });
    // Wednesday 17:01 + 1350 working minutes: Wed 29, Thu 450, Fri 450, Mon 421 → Monday 7 Dec 17:01.
    const monday = Date.parse('2026-12-07T17:01:00+08:00');
    expect(await t.hub.cases.tick(new Date(monday - minute))).toMatchObject({ escalated: 0 });
    expect(await t.hub.cases.tick(new Date(monday))).toMatchObject({ escalated: 1 });
    expect((await caseOf(c.id)).escalationArea).toBe(t.devices.gas.gridCode.slice(0, 9));

    // The deadline table says which rows count working time (domain.md defaults).
    const table = (await (await api()(`${t.httpUrl}/api/case-deadlines`)).json()) as {
      deadlines: Record<string, unknown>[];
    };
    expect(table.deadlines).toContainEqual(
      expect.objectContaining({
        severity: 'major',
        facilityType: 'streetlight',
        handleMinutes: 1350,
        unit: 'working',
        dispatchMinutes: 60,
        dispatchUnit: 'working',
      }),
    );
    const minorAny = table.deadlines.find((d) => d.severity === 'minor' && !d.facilityType)!;
    const patched = await api()(`${t.httpUrl}/api/case-deadlines/${minorAny.id as number}`, {
      method: 'PATCH',
      body: JSON.stringify({ unit: 'calendar', handleMinutes: 4320 }),
    });
    expect(await patched.json()).toMatchObject({ unit: 'calendar', handleMinutes: 4320 });

    const removed = await api()(`${t.httpUrl}/api/calendar/days/2026-11-30`, { method: 'DELETE' });
    expect(removed.status).toBe(204);
    const again = await api()(`${t.httpUrl}/api/calendar/days/2026-11-30`, { method: 'DELETE' });
    expect(again.status).toBe(404);
  });

  it('verifies a handled case by itself once telemetry has shown recovery for the configured time', async () => {
    await t.hub.db.pool.query(
      `INSERT INTO rule_case_policies (rule_id, open_case, auto_verify_after_s)
       VALUES ('manhole.displaced', true, 60)`,
    );
    const manhole = t.devices.manhole;
    const device = await connectDevice(t.mqttUrl, manhole);
    clients.push(device);
    await device.publishAsync(
      `devices/${manhole.id}/events`,
      JSON.stringify({ tilt: 60, open: true }),
      { qos: 1 },
    );
    const found = await waitFor(async () => {
      const { rows } = await t.hub.db.pool.query<{ id: number }>(
        `SELECT id FROM cases WHERE device_id = $1`,
        [manhole.id],
      );
      return rows[0];
    }, 'the manhole case');
    for (const [action, body] of [
      ['accept', {}],
      ['handle', { note: '井盖复位' }],
    ] as const) {
      const res = await api()(`${t.httpUrl}/api/cases/${found.id}/actions/${action}`, {
        method: 'POST',
        body: JSON.stringify(body),
      });
      expect(res.status, action).toBe(200);
    }
    await device.publishAsync(
      `devices/${manhole.id}/events`,
      JSON.stringify({ tilt: 1, open: false }),
      { qos: 1 },
    );
    const recovered = await waitFor(async () => {
      const c = await caseOf(found.id);
      return c.recoveredAt ? c : undefined;
    }, 'recovery');
    const at = Date.parse(recovered.recoveredAt!);
    expect(await t.hub.cases.tick(new Date(at + 30_000))).toMatchObject({ verified: 0 });
    expect(await t.hub.cases.tick(new Date(at + 61_000))).toMatchObject({ verified: 1 });
    expect((await caseOf(found.id)).state).toBe('verified');
  });

  it('opens an alarm but no case for a rule whose policy is alarm only', async () => {
    await t.hub.db.pool.query(
      `UPDATE rule_case_policies SET open_case = false WHERE rule_id = 'waterlogging.depth'`,
    );
    const w = t.devices.waterlogging;
    const device = await connectDevice(t.mqttUrl, w);
    clients.push(device);
    await device.publishAsync(`devices/${w.id}/telemetry`, JSON.stringify({ depth: 31 }), {
      qos: 1,
    });
    await waitFor(async () => {
      const { rows } = await t.hub.db.pool.query(`SELECT 1 FROM alarms WHERE device_id = $1`, [
        w.id,
      ]);
      return rows.length > 0 ? true : undefined;
    }, 'the ponding alarm');
    await t.hub.alarms.settled();
    await t.hub.cases.settled();
    const { rows } = await t.hub.db.pool.query(`SELECT 1 FROM cases WHERE device_id = $1`, [w.id]);
    expect(rows).toEqual([]);
  });
});
