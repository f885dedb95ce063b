import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerAlarmRoutes } from './alarm-routes.js';

/** The roles each alarm route declares (issue #13; the gate checks them, decision 0125). */
describe('the alarm routes', () => {
  it('declares acknowledge, shelve and unshelve for operators and supervisors (and admins)', async () => {
    const seen = new Map<string, readonly string[] | undefined>();
    const app = Fastify();
    app.addHook('onRoute', (r) => {
      seen.set(`${String(r.method)} ${r.url}`, r.config?.roles);
    });
    void app.register(
      async (api) => registerAlarmRoutes(api, { db: {} as never, alarmDesk: {} as never }),
      {
        prefix: '/api',
      },
    );
    await app.ready();
    for (const route of ['ack', 'shelve', 'unshelve']) {
      expect(seen.get(`POST /api/alarms/:id/${route}`), route).toEqual([
        'admin',
        'operator',
        'supervisor',
      ]);
    }
    await app.close();
  });
});
