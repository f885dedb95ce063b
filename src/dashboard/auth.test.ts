import Fastify from 'fastify';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { anyUser, requireRole, setupAuth } from './auth.js';

/** Every /api route says who may call it (issue #12): forgetting is a start-up error, not an open route. */
describe('the role rule of a route', () => {
  const build = async (register: (api: ReturnType<typeof Fastify>) => void) => {
    const app = Fastify();
    const db = { query: () => Promise.reject(new Error('no database in this test')) } as never;
    await setupAuth(app, db, pino({ level: 'silent' }));
    void app.register(
      async (api) => {
        register(api as never);
      },
      { prefix: '/api' },
    );
    // Wrapped: a Fastify instance is a thenable, and returning it would await its start.
    return { app };
  };

  it('refuses to start with an /api route that names no roles', async () => {
    const { app } = await build((api) => {
      api.get('/forgotten', async () => ({}));
    });
    await expect(app.ready()).rejects.toThrow(/GET \/api\/forgotten names no roles/);
  });

  it('starts with roles, any user, or a public route', async () => {
    const { app } = await build((api) => {
      api.get('/admins', requireRole('admin'), async () => ({}));
      api.get('/screens', anyUser, async () => ({}));
      api.get('/probe', { config: { public: true } }, async () => ({}));
    });
    await expect(app.ready()).resolves.toBeDefined();
    await app.close();
  });

  it('takes at least one role', () => {
    expect(() => requireRole()).toThrow(/at least one role/);
  });
});
