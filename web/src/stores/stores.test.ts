// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import type { AlarmRecord, CaseRecord } from '@domain/events.js';
import type { RuleDefinition } from '@domain/rules.js';
import { AlarmBook, isShelved } from './alarms.js';
import { CaseBook, formatRemaining } from './cases.js';
import { drillInto, drillUp, judge, meets, percent, top } from './kpi.js';
import { seriesOf, thresholdsFor } from './thresholds.js';
import { actionsFor, validateAction } from './workflow.js';
import { calendarFrom, workingRemaining } from './working.js';
import type { Transition } from '../api.js';

const alarm = (over: Partial<AlarmRecord>): AlarmRecord => ({
  id: 1,
  source: 'MH-00001',
  sourceKind: 'device',
  deviceId: 'MH-00001',
  ruleId: 'manhole.displaced',
  ruleVersion: 1,
  facilityType: 'manhole',
  gridCode: '430302001001001',
  severity: 'minor',
  state: 'open',
  title: 't',
  metric: 'tilt',
  threshold: 10,
  lastValue: 60,
  peakValue: 60,
  count: 1,
  firstReadingAt: '2026-12-01T00:00:00Z',
  lastReadingAt: '2026-12-01T00:00:00Z',
  openedAt: '2026-12-01T00:00:00Z',
  clearedAt: null,
  flapping: false,
  acknowledgedAt: null,
  acknowledgedBy: null,
  version: 1,
  ackComment: null,
  shelvedUntil: null,
  shelvedBy: null,
  shelveComment: null,
  explain: null,
  ...over,
});

describe('the alarm book', () => {
  it('lists open alarms worst first, unacknowledged before acknowledged, newest first', () => {
    const book = new AlarmBook();
    book.applySnapshot(1, [
      alarm({ id: 1, severity: 'minor', openedAt: '2026-12-01T01:00:00Z' }),
      alarm({ id: 2, severity: 'critical', acknowledgedAt: '2026-12-01T02:00:00Z' }),
      alarm({ id: 3, severity: 'critical', openedAt: '2026-12-01T00:30:00Z' }),
      alarm({ id: 4, severity: 'minor', openedAt: '2026-12-01T03:00:00Z' }),
      alarm({ id: 5, state: 'cleared' }),
    ]);
    expect(book.list().map((a) => a.id)).toEqual([3, 2, 4, 1]);
  });

  it('filters by district, facility type and severity', () => {
    const book = new AlarmBook();
    book.applySnapshot(1, [
      alarm({ id: 1, gridCode: '430302001001001', facilityType: 'manhole' }),
      alarm({ id: 2, gridCode: '430304001001001', facilityType: 'gas', severity: 'critical' }),
    ]);
    expect(book.list({ district: '430304', type: '', severity: '' }).map((a) => a.id)).toEqual([2]);
    expect(book.list({ district: '', type: 'manhole', severity: '' }).map((a) => a.id)).toEqual([
      1,
    ]);
    expect(book.list({ district: '', type: '', severity: 'critical' }).map((a) => a.id)).toEqual([
      2,
    ]);
  });

  it('ignores a delta no newer than its version and drops a cleared alarm', () => {
    const book = new AlarmBook();
    book.applySnapshot(5, [alarm({ id: 1 })]);
    expect(book.applyChange(5, alarm({ id: 1, severity: 'critical' }))).toBe(false);
    expect(book.list()[0]!.severity).toBe('minor');
    expect(book.applyChange(6, alarm({ id: 1, state: 'cleared' }))).toBe(true);
    expect(book.list()).toEqual([]);
  });

  it('gives each device its worst open severity', () => {
    const book = new AlarmBook();
    book.applySnapshot(1, [
      alarm({ id: 1, severity: 'minor' }),
      alarm({ id: 2, severity: 'major' }),
      alarm({ id: 3, deviceId: null, source: 'street:430302001' }),
    ]);
    expect([...book.worstByDevice()]).toEqual([['MH-00001', 'major']]);
  });

  it('hides an alarm the hub shelved until its time is up, and shows it once the hub unshelves it', () => {
    const shelved = alarm({ shelvedUntil: '2026-12-01T01:00:00Z' });
    expect(isShelved(shelved, Date.parse('2026-12-01T00:30:00Z'))).toBe(true);
    expect(isShelved(shelved, Date.parse('2026-12-01T01:00:00Z'))).toBe(false);
    // Worse, or expired on the hub: `shelvedUntil` is null, whatever this clock says.
    expect(isShelved(alarm({ shelvedUntil: null }), Date.parse('2026-12-01T00:30:00Z'))).toBe(
      false,
    );
  });
});

const kase = (over: Partial<CaseRecord>): CaseRecord => ({
  id: 1,
  code: 'AJ-1',
  version: 1,
  state: 'dispatched',
  kind: 'component',
  severity: 'minor',
  title: 't',
  facilityType: 'gas',
  deviceId: null,
  gridCode: null,
  alarmId: null,
  recoveredAt: null,
  createdAt: '2026-12-01T00:00:00Z',
  updatedAt: '2026-12-01T00:00:00Z',
  ...over,
});

describe('the case book', () => {
  it('keeps the newest version of a case whatever order the feed and REST deliver them in', () => {
    const book = new CaseBook();
    book.applySnapshot(3, [kase({ id: 1, version: 3 })]);
    expect(book.apply(kase({ id: 1, version: 5, state: 'in_handling' }))).toBe(true);
    expect(book.apply(kase({ id: 1, version: 4, state: 'dispatched' }))).toBe(false);
    expect(book.byId.get(1)!.state).toBe('in_handling');
    expect(book.version).toBe(5);
  });

  it('counts a deadline down in days, hours and minutes, negative when late', () => {
    const now = Date.parse('2026-12-01T00:00:00Z');
    expect(formatRemaining('2026-12-02T02:05:00Z', now)).toBe('1 d 2 h 05 min');
    expect(formatRemaining('2026-11-30T23:48:00Z', now)).toBe('-0 h 12 min');
    expect(formatRemaining(null, now)).toBeNull();
  });
});

const transitions: Record<string, Transition> = {
  accept: { from: ['dispatched'], to: 'in_handling', roles: ['crew'], zh: '签收' },
  cancel: {
    from: ['dispatched'],
    to: 'cancelled',
    roles: ['operator'],
    requires: 'reason',
    zh: '作废',
  },
  extend: { from: ['dispatched'], to: null, roles: ['supervisor'], requires: 'hours', zh: '延期' },
  comment: { from: ['dispatched'], to: null, roles: ['crew'], requires: 'note', zh: '备注' },
};

describe('case actions', () => {
  it('offers a crew only its own crew’s cases and an admin the control room’s actions', () => {
    const c = { state: 'dispatched' as const, crewId: 'gas-1' };
    expect(actionsFor(transitions, { role: 'crew', crewId: 'gas-1' }, c)).toEqual(['accept']);
    expect(actionsFor(transitions, { role: 'crew', crewId: 'gas-2' }, c)).toEqual([]);
    expect(actionsFor(transitions, { role: 'admin', crewId: null }, c)).toEqual([
      'cancel',
      'extend',
    ]);
  });

  it('asks for a reason, whole hours from 1 to 720, and posts only what the action takes', () => {
    const empty = { reason: ' ', note: '', hours: '24', crewId: '' };
    expect(validateAction(transitions.cancel!, 'cancel', empty).errors).toEqual({
      reason: 'required',
    });
    expect(
      validateAction(transitions.cancel!, 'cancel', { ...empty, reason: ' 误报 ' }).body,
    ).toEqual({ reason: '误报' });
    expect(validateAction(transitions.extend!, 'extend', { ...empty, hours: '0' }).errors).toEqual({
      hours: 'hoursRange',
    });
    expect(
      validateAction(transitions.extend!, 'extend', { ...empty, hours: '1.5' }).errors,
    ).toEqual({ hours: 'hoursRange' });
    expect(validateAction(transitions.extend!, 'extend', empty).body).toEqual({ hours: 24 });
  });
});

describe('KPI drill-down', () => {
  it('goes city → district → street → community → grid and back up by code', () => {
    const d1 = drillInto(top, '430302')!;
    expect(d1).toEqual({ level: 'street', area: '430302' });
    const d2 = drillInto(d1, '430302001')!;
    const d3 = drillInto(d2, '430302001001')!;
    expect(d3).toEqual({ level: 'grid', area: '430302001001' });
    expect(drillInto(d3, '430302001001001')).toBeNull();
    expect(drillUp(d3)).toEqual({ level: 'community', area: '430302001' });
    expect(drillUp(d1)).toEqual(top);
  });

  it('prints rates as percentages and judges them against targets', () => {
    expect(percent(0.9642)).toBe('96.4 %');
    expect(percent(null)).toBe('—');
    expect(meets(0.95, 0.96)).toBe(false);
    expect(meets(0.02, 0.05, true)).toBe(true);
    expect(meets(null, 0.9)).toBeNull();
    expect(judge(0.99, { value: 0.98, direction: 'min' })).toBe('met');
    expect(judge(0.06, { value: 0.05, direction: 'max' })).toBe('below');
    expect(judge(null, { value: 0.95, direction: 'min' })).toBe('none');
    expect(judge(0.5, undefined)).toBe('none');
  });
});

describe('device chart', () => {
  it('draws a line for each numeric raise condition of the type’s enabled threshold rules', () => {
    const rule = (over: Partial<RuleDefinition>): RuleDefinition => ({
      id: 'manhole.tilted',
      version: 1,
      facilityType: 'manhole',
      kind: 'threshold',
      severity: 'minor',
      title: '井盖倾斜',
      description: '',
      source: '',
      enabled: true,
      settings: {
        raise: [
          { metric: 'tilt', op: '>', value: 5 },
          { metric: 'open', op: '==', value: true },
        ],
      },
      ...over,
    });
    const lines = thresholdsFor(
      [rule({}), rule({ id: 'off', enabled: false }), rule({ id: 'gas', facilityType: 'gas' })],
      'manhole',
    );
    expect(lines.map((l) => [l.ruleId, l.metric, l.op, l.value])).toEqual([
      ['manhole.tilted', 'tilt', '>', 5],
    ]);
  });

  it('orders readings oldest first and reads booleans as 0 and 1', () => {
    expect(
      seriesOf(
        [
          { time: '2026-12-01T00:02:00Z', data: { open: true } },
          { time: '2026-12-01T00:01:00Z', data: { open: false, tilt: 3 } },
        ],
        'open',
      ),
    ).toEqual([
      [Date.parse('2026-12-01T00:01:00Z'), 0],
      [Date.parse('2026-12-01T00:02:00Z'), 1],
    ]);
  });
});

describe('working-time countdown', () => {
  it('counts only working hours to a deadline, skipping the night and a holiday', () => {
    const cal = calendarFrom({
      timeZone: 'Asia/Shanghai',
      workingHours: [
        { start: '09:00', end: '12:00' },
        { start: '13:30', end: '17:30' },
      ],
      days: [{ date: '2026-12-03', kind: 'holiday' }],
    });
    // Tue 16:30 → Fri 10:00 (Shanghai), Thursday off: 1 h Tuesday + 7 h Wednesday + 1 h Friday.
    const now = Date.parse('2026-12-01T08:30:00Z');
    expect(workingRemaining('2026-12-04T02:00:00Z', now, cal)).toBe('9 h 00 min');
    expect(workingRemaining('2026-12-01T08:00:00Z', now, cal)).toBe('-0 h 30 min');
  });
});
