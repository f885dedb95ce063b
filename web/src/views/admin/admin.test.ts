// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../api.js';
import type { Area } from '../../catalog.js';
import { session } from '../../hub.js';
import {
  areaProblem,
  confirmAction,
  confirmation,
  dateProblem,
  importSummary,
  isImportReport,
  maxAutoVerifyMinutes,
  minutesProblem,
  notice,
  run,
  tokenNameProblem,
  validateDevice,
  validateOverride,
  validateUser,
} from './admin.js';

const areas: Area[] = [
  { code: '430302', level: 'district', name: '雨湖区', parentCode: '430300' },
  { code: '430302001001001', level: 'grid', name: '网格 1', parentCode: '430302001001' },
];

describe('the admin forms', () => {
  const user = {
    username: 'night1',
    displayName: ' 夜班 ',
    role: 'crew',
    crewId: 'lighting-night',
    areaCode: '',
    password: 'night-shift-password',
  };

  it('builds a user as POST /api/users takes it, crew only for a crew user', () => {
    expect(validateUser(user)).toEqual({
      problems: {},
      body: {
        username: 'night1',
        role: 'crew',
        password: 'night-shift-password',
        displayName: '夜班',
        crewId: 'lighting-night',
      },
    });
    const op = validateUser({ ...user, role: 'operator', areaCode: '430302' });
    expect(op.body).not.toHaveProperty('crewId');
    expect(op.body.areaCode).toBe('430302');
  });

  it('names each bad field of a user', () => {
    const { problems } = validateUser({
      ...user,
      username: 'a b',
      crewId: '',
      password: 'short',
    });
    expect(problems).toEqual({ username: 'username', crewId: 'crewNeeded', password: 'password' });
  });

  it('holds token, crew and device ids to the domain id shape', () => {
    expect(tokenNameProblem('grafana-proxy')).toBeUndefined();
    expect(tokenNameProblem('-bad')).toBe('idShape');
    expect(tokenNameProblem('x'.repeat(65))).toBe('idShape');
  });

  it('checks a device against the city grids and keeps coordinates as numbers', () => {
    const grids = new Set(['430302001001001']);
    const ok = validateDevice(
      {
        id: 'SL-9',
        type: 'streetlight',
        gridCode: '430302001001001',
        name: ' 1 号灯 ',
        lat: '27.8',
        lon: '112.9',
        vendor: '',
      },
      grids,
    );
    expect(ok).toEqual({
      problems: {},
      body: {
        id: 'SL-9',
        type: 'streetlight',
        gridCode: '430302001001001',
        name: '1 号灯',
        lat: 27.8,
        lon: 112.9,
      },
    });
    const bad = validateDevice(
      { id: '', type: '', gridCode: '1', name: '', lat: '91', lon: 'east', vendor: '' },
      grids,
    );
    expect(bad.problems).toEqual({
      id: 'idShape',
      type: 'required',
      gridCode: 'gridUnknown',
      name: 'required',
      lat: 'coordinate',
      lon: 'coordinate',
    });
  });

  it('takes an area the city has, or the whole city where allowed', () => {
    expect(areaProblem('', areas, true)).toBeUndefined();
    expect(areaProblem('', areas, false)).toBe('required');
    expect(areaProblem('4303', areas, true)).toBe('areaShape');
    expect(areaProblem('430399', areas, true)).toBe('areaUnknown');
    expect(areaProblem('430302001001001', areas, true)).toBeUndefined();
  });

  it('reads an override: a JSON object, an enabled flag, an area for area scopes', () => {
    const site = validateOverride(
      { scope: 'site', scopeId: '工地-001', settings: '{"forSeconds": 60}', enabled: '' },
      areas,
    );
    expect(site).toEqual({
      problems: {},
      scope: 'site',
      body: { settings: { forSeconds: 60 }, enabled: null },
    });
    expect(
      validateOverride({ scope: 'grid', scopeId: '430302', settings: '', enabled: 'false' }, areas)
        .body,
    ).toEqual({ settings: {}, enabled: false });
    expect(
      validateOverride({ scope: 'grid', scopeId: '430399', settings: '[1]', enabled: '' }, areas)
        .problems,
    ).toEqual({ scopeId: 'areaUnknown', settings: 'jsonObject' });
    expect(
      validateOverride({ scope: 'city', scopeId: '', settings: '{', enabled: '' }, areas).problems,
    ).toEqual({ scope: 'required', scopeId: 'required', settings: 'json' });
    expect(
      validateOverride({ scope: 'device', scopeId: 'X-1', settings: ' ', enabled: '' }, areas)
        .problems,
    ).toEqual({ settings: 'overrideEmpty' });
  });

  it('takes whole minutes within the limit and real dates only', () => {
    expect(minutesProblem('30', maxAutoVerifyMinutes)).toBeUndefined();
    for (const bad of ['', '0', '1.5', '10081', 'x'])
      expect(minutesProblem(bad, maxAutoVerifyMinutes), bad).toBe('minutes');
    expect(dateProblem('2026-10-01')).toBeUndefined();
    expect(dateProblem('2026-02-30')).toBe('date');
    expect(dateProblem('2026-1-1')).toBe('date');
  });
});

describe('the import report', () => {
  it('sorts problems by line and offers the new secrets as a CSV', () => {
    const report = {
      imported: 1,
      rejected: 2,
      devices: [{ id: 'A-1', secret: 's3cret' }],
      errors: [
        { line: 5, id: 'B', message: 'grid 1 does not exist' },
        { line: 3, id: null, message: 'id missing' },
      ],
    };
    expect(isImportReport(report)).toBe(true);
    expect(isImportReport({ code: 'HUB_ERR_CSV_ENCODING' })).toBe(false);
    const s = importSummary(report);
    expect(s.errors.map((e) => e.line)).toEqual([3, 5]);
    expect(s.secretsCsv).toBe('id,secret\nA-1,s3cret\n');
    expect(importSummary({ ...report, imported: 0, devices: [] }).secretsCsv).toBe('');
  });
});

describe('the notice and the confirmation', () => {
  it('reports a success, a refusal with its code, and ends the session on a 401', async () => {
    expect(await run('saved', async () => 7)).toBe(7);
    expect(notice).toEqual({ text: '✓ saved', kind: 'ok' });
    const refused = await run('delete', async () => {
      throw new ApiError(409, 'HUB_ERR_IN_USE', 'crew has users');
    });
    expect(refused).toBeUndefined();
    expect(notice).toEqual({ text: '✗ delete: HUB_ERR_IN_USE crew has users', kind: 'error' });
    session.user = { id: 1 } as never;
    await run('load', async () => {
      throw new ApiError(401, 'HUB_ERR_UNAUTHORIZED', 'log in');
    });
    expect(session.user).toBeNull();
  });

  it('answers one question at a time; a new question says no to the old one', async () => {
    const first = confirmAction('revoke?');
    expect(confirmation.text).toBe('revoke?');
    const second = confirmAction('delete?');
    expect(await first).toBe(false);
    confirmation.answer!(true);
    expect(await second).toBe(true);
    expect(confirmation.text).toBe('');
  });
});
