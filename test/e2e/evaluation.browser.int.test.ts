import type { Browser } from 'playwright-core';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authed, type TestHub } from '../support/hub.js';
import { chromiumPath, closeHubAndBrowser, startHubAndBrowser } from '../support/browser.js';
import { ensureWebBuilt } from '../support/web.js';

/** The assessment page of the control room (issue #15) in Chromium against a real hub. */
describe.skipIf(!chromiumPath)('the monthly assessment page in Chromium', () => {
  let t: TestHub;
  let browser: Browser;

  beforeAll(async () => {
    ensureWebBuilt();
    ({ t, browser } = await startHubAndBrowser());
  });
  afterAll(() => closeHubAndBrowser(t, browser));

  it('ranks the districts of a month, opens a score breakdown and lists the report with its downloads', async () => {
    const { rows } = await t.hub.db.pool.query<{ code: string }>(
      `SELECT code FROM areas WHERE level = 'grid' ORDER BY code LIMIT 1`,
    );
    await t.hub.db.pool.query(
      `INSERT INTO cases (code, state, kind, severity, title, grid_code, source, created_at, updated_at,
         due_at, dispatched_at, handled_at)
       VALUES ('UI-1', 'handled', 'event', 'minor', '路面积水', $1, 'hotline',
         '2026-10-20T10:00:00+08:00', now(), '2026-10-21T10:00:00+08:00',
         '2026-10-20T10:30:00+08:00', '2026-10-20T12:00:00+08:00')`,
      [rows[0]!.code],
    );
    const made = await authed(t.adminToken)(`${t.httpUrl}/api/reports`, {
      method: 'POST',
      body: JSON.stringify({ kind: 'monthly', period: '2026-10' }),
    });
    expect(made.status).toBe(201);
    const { id } = (await made.json()) as { id: number };

    const page = await browser.newPage({ locale: 'zh-CN', viewport: { width: 1600, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const password = (await readFile(t.hub.adminPasswordFile, 'utf8')).trim();
    await page.goto(t.httpUrl + '/#/evaluation');
    await page.locator('[data-testid="login"]').waitFor();
    await page.fill('input[name="username"]', 'admin');
    await page.fill('input[name="password"]', password);
    await page.click('[data-testid="login-submit"]');
    await page.getByTestId('evaluation-period').fill('2026-10');
    await page.getByTestId('evaluation-period').press('Enter');
    const first = page.getByTestId('evaluation-row').first();
    await expect.poll(async () => (await first.textContent()) ?? '').toContain('100');
    expect(await first.textContent()).toContain('1'); // rank 1
    await first.click();
    await expect
      .poll(async () => (await page.getByTestId('evaluation-parts').textContent()) ?? '')
      .toContain('处置率 30 / 30');
    const report = page.getByTestId('report-row').first();
    await expect.poll(async () => (await report.textContent()) ?? '').toContain('月度考核 2026-10');
    expect(await report.locator('a').first().getAttribute('href')).toBe(`/api/reports/${id}/xlsx`);
    expect(errors).toEqual([]);
  });
});
