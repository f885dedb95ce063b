import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub.js';
import { photoForm } from '../support/photos.js';

/**
 * The public channel's abuse limits (issue #16): ten reports a minute from one
 * client address go through, the eleventh is refused with 429, a stable code
 * and a message a citizen can read, and the refusal is counted in the metrics.
 */
describe('public reports: abuse limits', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ CASE_TICK_INTERVAL_MS: '3600000' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  const send = (i: number) =>
    fetch(`${t.httpUrl}/api/public/reports`, {
      method: 'POST',
      headers: { 'x-device-fingerprint': `phone-${i}` },
      body: photoForm({ categoryCode: 'S0102', lat: 27.85, lon: 112.9, note: `第${i}次` }),
    });

  it('refuses the 11th report in a minute from one address', async () => {
    // Back to back: all eleven fall within one minute of the first.
    const statuses: number[] = [];
    for (let i = 1; i <= 10; i++) statuses.push((await send(i)).status);
    expect(statuses).toEqual(Array(10).fill(201));
    const refused = await send(11);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('60');
    const body = (await refused.json()) as { code: string; message: string };
    expect(body.code).toBe('HUB_ERR_PUBLIC_RATE_LIMITED');
    expect(body.message).toContain('请一分钟后再试');
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/hub_public_reports_refused_total\{by="address"\} 1/);
    expect(metrics).toMatch(/hub_public_reports_total 10/);
  });
});
