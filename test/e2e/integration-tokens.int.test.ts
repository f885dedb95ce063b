import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authed,
  connectLive,
  connectOperator,
  createUsers,
  startTestHub,
  waitFor,
  type TestHub,
} from '../support/hub.js';

interface Created {
  token: string;
  integrationToken: { id: number; name: string; role: string; lastUsedAt: string | null };
}

/**
 * Integration tokens (issue #14): an admin creates a named token for a
 * machine, sees it once, and revokes it; it works as a bearer token on REST
 * and on the socket.io handshake with its role, and leaves its name in the
 * audit log.
 */
describe('integration tokens', () => {
  let t: TestHub;
  let db: pg.Client;

  beforeAll(async () => {
    // A fast sweep: it must leave a token's live connection alone.
    t = await startTestHub({ SESSION_SWEEP_INTERVAL_MS: '200', CASE_TICK_INTERVAL_MS: '3600000' });
    db = new pg.Client({ connectionString: t.database.url });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await t?.stop();
  });

  const create = async (name: string, role: string): Promise<Created> => {
    const res = await authed(t.adminToken)(`${t.httpUrl}/api/integration-tokens`, {
      method: 'POST',
      body: JSON.stringify({ name, role }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as Created;
  };

  it('shows a new token once and stores only its SHA-256', async () => {
    const { token, integrationToken } = await create('node-red', 'viewer');
    expect(token).toMatch(/^hubit_[A-Za-z0-9_-]{43}$/);
    expect(integrationToken).toMatchObject({ name: 'node-red', role: 'viewer', lastUsedAt: null });

    const list = await authed(t.adminToken)(`${t.httpUrl}/api/integration-tokens`);
    const body = await list.text();
    expect(body).toContain('node-red');
    expect(body).not.toContain(token);

    const { rows } = await db.query(`SELECT * FROM integration_tokens WHERE name = 'node-red'`);
    expect(rows[0].token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(token.slice(6));
  });

  it('refuses a second live token of the same name and a non-admin creator', async () => {
    await create('vendor-x', 'operator');
    const again = await authed(t.adminToken)(`${t.httpUrl}/api/integration-tokens`, {
      method: 'POST',
      body: JSON.stringify({ name: 'vendor-x', role: 'viewer' }),
    });
    expect(again.status).toBe(409);
    const users = await createUsers(t.httpUrl, t.adminToken, [
      { username: 'op-tokens', role: 'operator' },
    ]);
    const byOperator = await authed(users['op-tokens']!.token)(
      `${t.httpUrl}/api/integration-tokens`,
      { method: 'POST', body: JSON.stringify({ name: 'mine', role: 'operator' }) },
    );
    expect(byOperator.status).toBe(403);
  });

  it('acts with its role: a viewer token reads but may not register a case, an operator token may', async () => {
    const viewer = await create('grafana-proxy', 'viewer');
    const operator = await create('pump-flow', 'operator');
    const caseBody = JSON.stringify({
      source: 'other',
      severity: 'minor',
      title: 'from a flow',
      facilityType: 'streetlight',
      gridCode: t.devices.streetlight.gridCode,
    });

    expect((await authed(viewer.token)(`${t.httpUrl}/api/devices`)).status).toBe(200);
    const refused = await authed(viewer.token)(`${t.httpUrl}/api/cases`, {
      method: 'POST',
      body: caseBody,
    });
    expect(refused.status).toBe(403);
    const registered = await authed(operator.token)(`${t.httpUrl}/api/cases`, {
      method: 'POST',
      body: caseBody,
    });
    expect(registered.status).toBe(201);

    const audit = await authed(t.adminToken)(
      `${t.httpUrl}/api/audit?username=${encodeURIComponent('token:pump-flow')}`,
    );
    const { entries } = (await audit.json()) as { entries: { action: string; outcome: string }[] };
    expect(entries).toContainEqual(
      expect.objectContaining({ action: 'POST /api/cases', outcome: 'ok' }),
    );
    const creations = await authed(t.adminToken)(
      `${t.httpUrl}/api/audit?action=${encodeURIComponent('/api/integration-tokens')}`,
    );
    expect(((await creations.json()) as { entries: unknown[] }).entries.length).toBeGreaterThan(0);
  });

  it('sends a device command with an operator token, audited under its name; a viewer token is refused', async () => {
    const operator = await create('pump-commands', 'operator');
    const viewer = await create('pump-watcher', 'viewer');
    const pump = t.devices.pump_station;
    const start = (token: string) =>
      authed(token)(`${t.httpUrl}/api/devices/${pump.id}/commands`, {
        method: 'POST',
        body: JSON.stringify({ name: 'start', args: { pump: 1 } }),
      });
    const sent = await start(operator.token);
    expect(sent.status).toBe(202);
    expect(await sent.json()).toMatchObject({ deviceId: pump.id, name: 'start', state: 'sent' });
    const refused = await start(viewer.token);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe('HUB_ERR_FORBIDDEN');

    type Entry = { username: string; role: string; outcome: string; detail: unknown };
    // The audit row of a refusal is written as its answer goes out: wait for both rows.
    const entries = await waitFor(async () => {
      const audit = await authed(t.adminToken)(
        `${t.httpUrl}/api/audit?action=${encodeURIComponent('/commands')}&target=${pump.id}`,
      );
      const { entries: rows } = (await audit.json()) as { entries: Entry[] };
      return rows.some((e) => e.username === 'token:pump-watcher') &&
        rows.some((e) => e.username === 'token:pump-commands')
        ? rows
        : undefined;
    }, 'the audit rows of both commands');
    expect(entries).toContainEqual(
      expect.objectContaining({
        username: 'token:pump-commands',
        role: 'operator',
        outcome: 'ok',
        detail: { body: { name: 'start', args: { pump: 1 } } },
      }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({ username: 'token:pump-watcher', outcome: 'refused' }),
    );
  });

  it('records its last use at most once a minute', async () => {
    const { token, integrationToken } = await create('counter', 'viewer');
    await authed(token)(`${t.httpUrl}/api/health`);
    expect((await authed(token)(`${t.httpUrl}/api/devices`)).status).toBe(200);
    const first = await waitFor(async () => {
      const { rows } = await db.query(`SELECT last_used_at FROM integration_tokens WHERE id = $1`, [
        integrationToken.id,
      ]);
      return rows[0].last_used_at ?? undefined;
    }, 'last used time');
    for (let i = 0; i < 3; i++) await authed(token)(`${t.httpUrl}/api/devices`);
    const { rows } = await db.query(`SELECT last_used_at FROM integration_tokens WHERE id = $1`, [
      integrationToken.id,
    ]);
    expect(rows[0].last_used_at.getTime()).toBe((first as Date).getTime());
  });

  it('opens a live connection, survives the session sweep, and is closed at once when revoked', async () => {
    const { token, integrationToken } = await create('live-flow', 'viewer');
    const live = await connectLive(t.httpUrl, token);
    // Several sweeps (every 200 ms) pass: a token is not a session, yet it is valid.
    await new Promise((r) => setTimeout(r, 800));
    expect(live.socket.connected).toBe(true);

    const res = await authed(t.adminToken)(
      `${t.httpUrl}/api/integration-tokens/${integrationToken.id}`,
      { method: 'DELETE' },
    );
    expect(res.status).toBe(204);
    expect(await live.ended).toBe('revoked');
    await live.closed;

    expect((await authed(token)(`${t.httpUrl}/api/devices`)).status).toBe(401);
    const again = connectOperator(t.httpUrl, token);
    const refusal = await new Promise<{ data?: { code?: string } }>((resolve) =>
      again.once('connect_error', resolve),
    );
    again.close();
    expect(refusal.data?.code).toBe('HUB_ERR_UNAUTHENTICATED');

    const listed = await authed(t.adminToken)(`${t.httpUrl}/api/integration-tokens?revoked=true`);
    const { tokens } = (await listed.json()) as { tokens: { id: number; revokedBy: string }[] };
    expect(tokens.find((x) => x.id === integrationToken.id)?.revokedBy).toBe('admin');
    const gone = await authed(t.adminToken)(
      `${t.httpUrl}/api/integration-tokens/${integrationToken.id}`,
      { method: 'DELETE' },
    );
    expect(gone.status).toBe(404);
  });
});
