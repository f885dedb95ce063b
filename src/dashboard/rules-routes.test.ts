import Fastify, { type preHandlerHookHandler } from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerRulesRoutes } from './rules-routes.js';
import { ruleKindNames } from '../rules/index.js';

/** The rules routes without a database: validation, and the role guard of issue #5. */
describe('the rules routes', () => {
  const build = (requireRole?: (...roles: string[]) => preHandlerHookHandler) => {
    const app = Fastify();
    const db = {
      query: () => Promise.reject(new Error('no database in this test')),
    } as never;
    void app.register(async (api) => registerRulesRoutes(api, { db, requireRole }), {
      prefix: '/api',
    });
    return app;
  };

  it('guards rule changes with admin or supervisor, and alarm acknowledgement with operators too', async () => {
    const asked: string[][] = [];
    const app = build((...roles) => {
      asked.push(roles);
      return (_req, reply, done) => {
        void reply.status(403).send({ code: 'FORBIDDEN' });
        done();
      };
    });
    const rule = {
      id: 'gas.hot',
      facilityType: 'gas',
      kind: 'threshold',
      severity: 'minor',
      title: 'hot',
      description: 'hot',
      source: 'test',
      settings: {},
    };
    // Bodies are valid: Fastify validates a body before the preHandler runs.
    for (const [method, url, payload] of [
      ['POST', '/api/rules', rule],
      ['PATCH', '/api/rules/gas.ch4', { severity: 'minor' }],
      ['POST', '/api/rules/gas.ch4/enable', undefined],
      ['POST', '/api/rules/gas.ch4/disable', undefined],
      ['PUT', '/api/rules/gas.ch4/overrides/device/GS-00001', { settings: {} }],
      ['DELETE', '/api/rules/gas.ch4/overrides/device/GS-00001', undefined],
      ['POST', '/api/alarms/7/ack', undefined],
    ] as const) {
      const res = await app.inject({ method, url, payload });
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(403);
    }
    expect(new Set(asked.map((r) => r.join(',')))).toEqual(
      new Set(['admin,supervisor', 'admin,operator,supervisor']),
    );
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
