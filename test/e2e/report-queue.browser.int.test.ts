import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authed,
  createUsers,
  lightingAreas,
  startTestHub,
  streetlightPlace,
  testPassword,
  type TestHub,
} from '../support/hub.js';
import { chromiumPath, launchBrowser } from '../support/browser.js';
import { photoForm } from '../support/photos.js';
import { ensureWebBuilt } from '../support/web.js';

/**
 * The control room's acceptance queue in Chromium (issue #16): a report made
 * twice at one place is merged into the first from the duplicate shown beside
 * it, and a report of a problem that already has a case is rejected as a
 * duplicate of that case, after the dialog has asked for the reason it lacked.
 */
describe.skipIf(!chromiumPath)('the acceptance queue in Chromium', () => {
  let t: TestHub;
  let browser: Browser;
  let lat = 0;
  let lon = 0;
  const tokens: Record<string, string> = {};
  const pageErrors: string[] = [];

  beforeAll(async () => {
    ensureWebBuilt();
    t = await startTestHub({ CASE_TICK_INTERVAL_MS: '3600000' });
    browser = await launchBrowser();
    const { grid } = lightingAreas(t);
    const users = await createUsers(t.httpUrl, t.adminToken, [
      { username: 'op1', role: 'operator' },
      { username: 'insp1', role: 'inspector', areaCode: grid },
    ]);
    for (const [name, u] of Object.entries(users)) tokens[name] = u.token;
    ({ lat, lon } = await streetlightPlace(t));
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  const call = async (who: string, url: string, body?: object) => {
    const res = await authed(tokens[who]!)(`${t.httpUrl}${url}`, {
      ...(body ? { method: 'POST', body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status >= 300) throw new Error(`${url}: ${res.status} ${JSON.stringify(json)}`);
    return json as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const report = async (note: string): Promise<{ id: number; code: string }> => {
    const res = await authed(tokens.insp1!)(`${t.httpUrl}/api/field-reports`, {
      method: 'POST',
      body: photoForm({ categoryCode: 'B0125', lat, lon, note }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: number; code: string };
  };

  async function queuePage(): Promise<Page> {
    const context = await browser.newContext({
      locale: 'zh-CN',
      viewport: { width: 1440, height: 900 },
    });
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${t.httpUrl}/#/reports`);
    await page.fill('input[name="username"]', 'op1');
    await page.fill('input[name="password"]', testPassword('op1'));
    await page.click('[data-testid="login-submit"]');
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor();
    return page;
  }
  const row = (page: Page, code: string) =>
    page.locator(`[data-testid="report-row"][data-report-code="${code}"]`);

  it('merges a second report of the same lamp into the first from the duplicate beside it', async () => {
    const first = await report('路灯不亮');
    const second = await report('这盏路灯坏了');
    const page = await queuePage();

    const duplicate = row(page, second.code).locator(
      `[data-testid="duplicate"][data-type="report"][data-code="${first.code}"]`,
    );
    await duplicate.waitFor();
    await duplicate.locator('[data-action="merge-into"]').click();
    const dialog = page.locator('[data-testid="report-dialog"][data-action="merge"]');
    expect(await dialog.locator('select[name="mergeTarget"]').inputValue()).toBe(
      `report:${first.id}`,
    );
    await dialog.locator('[data-testid="action-submit"]').click();
    await page.locator('[data-testid="queue-message"]').waitFor();
    await row(page, second.code).waitFor({ state: 'detached' });

    const merged = await call('op1', `/api/field-reports/${second.id}`);
    expect(merged.report).toMatchObject({ state: 'merged', mergedIntoId: first.id });
    // The first stays in the queue, to be accepted with its duplicate.
    await row(page, first.code).waitFor();
    await page.context().close();
  });

  it('rejects a report of a lamp that already has a case as a duplicate of that case', async () => {
    const accepted = await report('灯杆倾斜');
    const { case: existing } = await call('op1', `/api/field-reports/${accepted.id}/accept`, {
      facilityType: 'streetlight',
    });
    const late = await report('灯杆歪了');
    const page = await queuePage();

    const r = row(page, late.code);
    await r
      .locator(`[data-testid="duplicate"][data-type="case"][data-code="${existing.code}"]`)
      .waitFor();
    await r.locator('[data-action="reject"]').click();
    const dialog = page.locator('[data-testid="report-dialog"][data-action="reject"]');
    // No reason chosen: the dialog says what is missing and sends nothing.
    await dialog.locator('[data-testid="action-submit"]').click();
    await dialog.locator('[role="alert"]').waitFor();
    expect((await call('op1', `/api/field-reports/${late.id}`)).report.state).toBe('reported');

    await dialog.locator('input[name="reason"][value="duplicate"]').check();
    await dialog.locator('select[name="duplicateOf"]').selectOption(String(existing.id));
    await dialog.locator('textarea[name="note"]').fill('已有案件');
    await dialog.locator('[data-testid="action-submit"]').click();
    await r.waitFor({ state: 'detached' });

    const rejected = await call('op1', `/api/field-reports/${late.id}`);
    expect(rejected.report).toMatchObject({
      state: 'rejected',
      rejectReason: 'duplicate',
      duplicateOfCaseId: existing.id,
    });
    await page.context().close();
    expect(pageErrors).toEqual([]);
  });
});
