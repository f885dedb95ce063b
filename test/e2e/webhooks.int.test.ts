import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { createWebhookService, signPayload } from '../../src/cases/index.js';
import { authed, startTestHub, waitFor, type TestHub } from '../support/hub.js';

interface Received {
  path: string;
  body: string;
  signature: string | undefined;
  event: string | undefined;
}

/** Outbound webhooks: HMAC-signed, retried with backoff, dead-lettered after the last try. */
describe('outbound webhooks', () => {
  let t: TestHub;
  let receiver: Server;
  let base = '';
  const received: Received[] = [];
  let flakyFailures = 2;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        received.push({
          path: req.url ?? '',
          body,
          signature: req.headers['x-hub-signature-256'] as string | undefined,
          event: req.headers['x-hub-event'] as string | undefined,
        });
        if (req.url === '/down' || (req.url === '/flaky' && flakyFailures-- > 0)) {
          res.statusCode = 503;
          return res.end('try later');
        }
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    t = await startTestHub({
      CASE_TICK_INTERVAL_MS: '3600000',
      WEBHOOK_MAX_ATTEMPTS: '3',
      WEBHOOK_BACKOFF_MS: '20',
      // The receiver is on loopback, which the default refuses (SSRF, decision 0131).
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    });
  });
  afterAll(async () => {
    await t?.stop();
    receiver?.close();
  });

  it('retries a receiver that fails twice, delivers on the third attempt with a valid signature, and dead-letters one that never answers 2xx', async () => {
    const api = authed(t.adminToken);
    const secret = 'a-webhook-secret-of-some-length';
    for (const path of ['/flaky', '/down']) {
      const res = await api(`${t.httpUrl}/api/webhooks`, {
        method: 'POST',
        body: JSON.stringify({ url: base + path, secret, events: ['case.register'] }),
      });
      expect(res.status).toBe(201);
    }
    const created = await api(`${t.httpUrl}/api/cases`, {
      method: 'POST',
      body: JSON.stringify({
        source: 'hotline',
        severity: 'major',
        title: '12345：井盖缺失',
        facilityType: 'manhole',
        gridCode: t.devices.manhole.gridCode,
      }),
    });
    expect(created.status).toBe(201);
    await t.hub.webhooks.settled();

    const deliveries = await waitFor(async () => {
      const res = await api(`${t.httpUrl}/api/webhooks/deliveries`);
      const body = (await res.json()) as {
        deliveries: { status: string; attempts: number; event: string; lastStatus: number }[];
      };
      return body.deliveries.every((d) => d.status !== 'pending') && body.deliveries.length === 2
        ? body.deliveries
        : undefined;
    }, 'both deliveries to finish');
    expect(deliveries.map((d) => [d.status, d.attempts, d.event]).sort()).toEqual([
      ['dead', 3, 'case.register'],
      ['delivered', 3, 'case.register'],
    ]);
    // Only the subscribed event: the automatic dispatch sent nothing.
    expect(new Set(received.map((r) => r.event))).toEqual(new Set(['case.register']));
    const flaky = received.filter((r) => r.path === '/flaky');
    expect(flaky).toHaveLength(3);
    for (const r of received) expect(r.signature).toBe(signPayload(secret, r.body));
    const payload = JSON.parse(flaky[2]!.body) as { event: string; case: { title: string } };
    expect(payload).toMatchObject({ event: 'case.register', case: { title: '12345：井盖缺失' } });
  });

  it('resumes a delivery a previous run left pending, continuing its attempt count', async () => {
    const db = t.hub.db.pool;
    const { rows } = await db.query<{ id: number }>(
      `INSERT INTO webhooks (url, secret, events) VALUES ($1, 'resume-secret-0123456789', '{}') RETURNING id`,
      [base + '/ok'],
    );
    const { rows: d } = await db.query<{ id: number }>(
      `INSERT INTO webhook_deliveries (webhook_id, event, payload, attempts, last_error)
       VALUES ($1, 'case.dispatch', '{"event":"case.dispatch"}', 1, 'HTTP 503') RETURNING id`,
      [rows[0]!.id],
    );
    const service = createWebhookService(db, pino({ level: 'silent' }), {
      maxAttempts: 3,
      backoffMs: 20,
      allowPrivateTargets: true,
    });
    service.resumePending();
    await service.settled();
    const { rows: after } = await db.query(
      `SELECT status, attempts FROM webhook_deliveries WHERE id = $1`,
      [d[0]!.id],
    );
    expect(after).toEqual([{ status: 'delivered', attempts: 2 }]);
    const got = received.find((r) => r.path === '/ok');
    expect(JSON.parse(got!.body)).toEqual({ id: d[0]!.id, event: 'case.dispatch' });
    expect(got!.signature).toBe(signPayload('resume-secret-0123456789', got!.body));
  });
});
