import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upgradePackRules } from '../../src/db/index.js';
import { defaultRulePack } from '../../src/rules/index.js';
import { authed, startTestHub, type TestHub } from '../support/hub.js';

/**
 * Overrides of a fleet-wide (tick) rule through REST against the real hub and
 * PostgreSQL: the next tick uses them, without a restart, and the alarm
 * records the settings that applied. And the pack upgrade's offer of a newer
 * default to a rule the city edited, in GET /api/rules.
 */
describe('overrides of fleet-wide rules over REST', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub();
  });
  afterAll(async () => {
    await t?.stop();
  });
  /** PUT an override; its status and error code. */
  const put = async (url: string, settings: Record<string, unknown>) => {
    const res = await authed(t.adminToken)(`${t.httpUrl}/api/rules/${url}`, {
      method: 'PUT',
      body: JSON.stringify({ settings }),
    });
    return { status: res.status, code: ((await res.json()) as { code?: string }).code };
  };
  const offline = async (deviceId: string) =>
    (
      await t.hub.db.pool.query<{ state: string; settings: Record<string, unknown> }>(
        `SELECT state, explain->'settings' AS settings FROM alarms
         WHERE rule_id = 'all.offline' AND device_id = $1 ORDER BY id DESC LIMIT 1`,
        [deviceId],
      )
    ).rows[0];

  it('applies a district’s and then a grid’s offline settings at the next tick', async () => {
    const manhole = t.hub.directory.get(t.devices.manhole.id)!;
    const district = manhole.gridCode.slice(0, 6);
    // No area alarms in this district, and no wait for one: each silent device alarms at once.
    const first = await put(`all.offline/overrides/district/${district}`, {
      areaMinDevices: 1000,
      correlationS: 0,
    });
    expect(first.status).toBe(200);
    const later = Date.now() + 3 * 3600_000;
    await t.hub.alarms.tick(later);
    await t.hub.alarms.settled();
    expect(await offline(manhole.id)).toMatchObject({
      state: 'open',
      settings: { factor: 3, areaMinDevices: 1000, correlationS: 0 },
    });
    // The manhole's grid reports rarely: 100 × its 30-min interval before it counts as silent.
    expect(
      (await put(`all.offline/overrides/grid/${manhole.gridCode}`, { factor: 100 })).status,
    ).toBe(200);
    await t.hub.alarms.tick(later + 60_000);
    await t.hub.alarms.settled();
    expect((await offline(manhole.id))?.state).toBe('cleared');
    expect(t.hub.alarms.counters.errors).toBe(0);
  });

  it('refuses an override that would change what the groups of a fleet-wide rule are', async () => {
    expect(
      await put('streetlight.lighting_rate_road/overrides/district/430302', {
        groupBy: 'district',
      }),
    ).toEqual({ status: 400, code: 'HUB_ERR_RULE_INVALID' });
  });

  it('shows a newer default of a rule the city edited as its packUpdate', async () => {
    const res = await authed(t.adminToken)(`${t.httpUrl}/api/rules/gas.pressure`, {
      method: 'PATCH',
      body: JSON.stringify({ title: '调压异常 (city wording)' }),
    });
    expect(res.status).toBe(200);
    const newer = defaultRulePack.map((r) =>
      r.id === 'gas.pressure' ? { ...r, description: 'newer default' } : r,
    );
    expect(await upgradePackRules(t.hub.db.pool, newer)).toMatchObject({ kept: ['gas.pressure'] });
    const list = (await (await authed(t.adminToken)(`${t.httpUrl}/api/rules`)).json()) as {
      rules: { id: string; title: string; packUpdate?: { description: string } }[];
    };
    const pressure = list.rules.find((r) => r.id === 'gas.pressure');
    expect(pressure).toMatchObject({
      title: '调压异常 (city wording)',
      packUpdate: { description: 'newer default' },
    });
    expect(list.rules.find((r) => r.id === 'gas.ch4')).not.toHaveProperty('packUpdate');
  });
});
