import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerRulesRoutes } from './rules-routes.js';
import { ruleKindNames } from '../rules/index.js';

/** The rules routes without a database: validation, and the roles each route declares (issue #5; the gate checks them). */
describe('the rules routes', () => {
  const build = (seen: Map<string, readonly string[] | undefined> = new Map()) => {
    const app = Fastify();
    app.addHook('onRoute', (r) => {
      seen.set(`${String(r.method)} ${r.url}`, r.config?.roles);
    });
    const db = {
      query: () => Promise.reject(new Error('no database in this test')),
    } as never;
    void app.register(async (api) => registerRulesRoutes(api, { db }), { prefix: '/api' });
    return app;
  };

  it('declares rule changes for supervisors', async () => {
    const seen = new Map<string, readonly string[] | undefined>();
    const app = build(seen);
    await app.ready();
    for (const route of [
      'POST /api/rules',
      'PATCH /api/rules/:id',
      'POST /api/rules/:id/enable',
      'POST /api/rules/:id/disable',
      'PUT /api/rules/:id/overrides/:scope/:scopeId',
      'DELETE /api/rules/:id/overrides/:scope/:scopeId',
    ]) {
      expect(seen.get(route), route).toEqual(['supervisor']);
    }
    await app.close();
  });

  it('validates settings against the rule kind without touching the database', async () => {
    const app = build();
    const ok = await app.inject({
      method: 'POST',
      url: '/api/rules/validate',
      payload: { kind: 'offline', settings: { factor: 3 } },
    });
    expect(ok.json()).toMatchObject({ valid: false });
    expect(ok.json().problems.join(' ')).toContain('areaMinDevices');
    const unknown = await app.inject({
      method: 'POST',
      url: '/api/rules/validate',
      payload: { kind: 'magic', settings: {} },
    });
    expect(unknown.json().problems[0]).toMatch(/^kind must be one of threshold, levels/);
    const kinds = await app.inject({ method: 'GET', url: '/api/rules/kinds' });
    const names = (kinds.json().kinds as { name: string }[]).map((k) => k.name);
    expect(names).toEqual(ruleKindNames);
    expect(names).toEqual(expect.arrayContaining(['threshold', 'offline', 'mqtt-rate-abuse']));
    await app.close();
  });
});
