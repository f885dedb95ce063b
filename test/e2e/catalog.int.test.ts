import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { facilityTypes, roles, severities } from '../../src/domain/index.js';
import { authed, startTestHub, type TestHub } from '../support/hub.js';

interface Catalog {
  roles: { id: string; label: { zh: string; en: string } }[];
  severities: { id: string; rank: number; label: { zh: string; en: string } }[];
  caseStates: { id: string; open: boolean }[];
  caseActions: { id: string; roles: string[]; from: string[]; to: string | null }[];
  facilityTypes: {
    id: string;
    label: { zh: string; en: string };
    metrics: { name: string; unit: string | null; label: { zh: string; en: string } }[];
    commands: { name: string }[];
  }[];
  kpiTargets: Record<string, { value: number; direction: string }>;
  thresholds: { ruleId: string; metric: string; op: string; value: number; severity: string }[];
  areaLevels: { id: string }[];
  areas: { code: string; level: string; name: string; parentCode: string | null }[];
  alarmChanges: string[];
}

/** GET /api/catalog (issue #13): the lists a screen renders, from one source. */
describe('the catalog', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers only a logged-in user', async () => {
    const res = await fetch(`${t.httpUrl}/api/catalog`);
    expect(res.status).toBe(401);
  });

  it('serves roles, severities, case states and actions with Chinese and English labels', async () => {
    const res = await authed(t.adminToken)(`${t.httpUrl}/api/catalog`);
    expect(res.status).toBe(200);
    const c = (await res.json()) as Catalog;
    expect(c.roles.map((r) => r.id)).toEqual([...roles]);
    expect(c.severities.map((s) => s.id)).toEqual([...severities]);
    expect(c.severities[0]).toMatchObject({ id: 'critical', rank: 0, label: { zh: '紧急' } });
    expect(c.caseStates.find((s) => s.id === 'closed')?.open).toBe(false);
    // Who may take which action comes from the workflow table.
    const accept = c.caseActions.find((a) => a.id === 'accept')!;
    expect(accept).toMatchObject({
      roles: ['admin', 'crew'],
      from: ['dispatched'],
      to: 'in_handling',
    });
    expect(c.alarmChanges).toContain('shelved');
  });

  it('serves each facility type with its metrics, units, labels and commands', async () => {
    const c = (await (await authed(t.adminToken)(`${t.httpUrl}/api/catalog`)).json()) as Catalog;
    expect(c.facilityTypes.map((f) => f.id)).toEqual([...facilityTypes]);
    const gas = c.facilityTypes.find((f) => f.id === 'gas')!;
    expect(gas.label.zh).toBe('燃气调压设施');
    expect(gas.metrics.find((m) => m.name === 'ch4')).toMatchObject({
      unit: '%LEL',
      label: { zh: '甲烷浓度' },
    });
    expect(gas.commands.map((x) => x.name)).toEqual(['valve_close']);
    expect(
      c.facilityTypes.find((f) => f.id === 'streetlight')!.commands.map((x) => x.name),
    ).toEqual(['on', 'off', 'dim']);
  });

  it('serves KPI targets, the rule pack thresholds and the demo city areas with names', async () => {
    const c = (await (await authed(t.adminToken)(`${t.httpUrl}/api/catalog`)).json()) as Catalog;
    expect(c.kpiTargets.lightingRate).toMatchObject({ value: 0.98, direction: 'min' });
    const gas = c.thresholds.filter((x) => x.metric === 'ch4');
    expect(gas.length).toBeGreaterThan(0);
    expect(gas.every((x) => typeof x.value === 'number')).toBe(true);
    expect(c.areaLevels.map((l) => l.id)).toEqual([
      'city',
      'district',
      'street',
      'community',
      'grid',
    ]);
    const district = c.areas.find((a) => a.level === 'district')!;
    expect(district.name).toMatch(/区$/);
    const grid = c.areas.find((a) => a.level === 'grid')!;
    expect(grid.code).toHaveLength(15);
    expect(c.areas.some((a) => a.code === grid.parentCode && a.level === 'community')).toBe(true);
  });

  it('answers 304 to a reload that sends the ETag it was given', async () => {
    const first = await authed(t.adminToken)(`${t.httpUrl}/api/catalog`);
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    const again = await authed(t.adminToken)(`${t.httpUrl}/api/catalog`, {
      headers: { 'if-none-match': etag! },
    });
    expect(again.status).toBe(304);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${t.httpUrl}/docs/json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(doc.paths['/api/catalog']).toBeDefined();
  });
});
