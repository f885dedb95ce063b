import { readFile } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHub } from '../support/hub.js';
import { ensureWebBuilt } from '../support/web.js';
import { chromiumPath, closeHubAndBrowser, startHubAndBrowser } from '../support/browser.js';

/**
 * The pages under the hub's Content-Security-Policy (issue #11, decision
 * 0126): logged in, the control room, the crew page, every admin page and the
 * API docs load and run without one violation, and the live connection opens.
 */
describe.skipIf(!chromiumPath)('the pages under the Content-Security-Policy', () => {
  let t: TestHub;
  let browser: Browser;

  beforeAll(async () => {
    ensureWebBuilt();
    ({ t, browser } = await startHubAndBrowser());
  });
  afterAll(() => closeHubAndBrowser(t, browser));

  it('run every page, docs included, without a CSP violation, and send changes with the CSRF header', async () => {
    const page = await browser.newPage({ locale: 'zh-CN' });
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    page.on('pageerror', (e) => violations.push(e.message));
    await page.exposeFunction('reportViolation', (v: string) => violations.push(v));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        (window as unknown as { reportViolation(v: string): void }).reportViolation(
          `${e.violatedDirective} ${e.blockedURI}`,
        );
      });
    });
    await page.goto(t.httpUrl + '/classic.html');
    await page.fill('#login-username', 'admin');
    await page.fill('#login-password', (await readFile(t.hub.adminPasswordFile, 'utf8')).trim());
    await page.click('#login-submit');
    await page.locator('#kpi-panel:not([hidden])').waitFor();
    // The web UI (issue #13) on the same session: every view once.
    const admin = ['users', 'tokens', 'devices', 'org', 'routing', 'deadlines', 'rules']
      .concat(['calendar', 'webhooks', 'ops'])
      .map((s) => `/#/admin/${s}`);
    for (const view of [
      '/',
      '/#/cases',
      '/#/kpi',
      '/#/evaluation',
      '/#/wall',
      '/#/crew',
      ...admin,
    ]) {
      await page.goto(t.httpUrl + view);
      await page.locator('#app').waitFor();
      await page.waitForTimeout(500);
    }
    for (const path of ['/crew.html', '/docs/static/index.html']) {
      await page.goto(t.httpUrl + path);
      await page.waitForLoadState('networkidle');
    }
    await page.locator('.swagger-ui').first().waitFor();
    // The logout is a body-less POST with the cookie: it passes only with the header.
    const status = await page.evaluate(async () => {
      const res = await fetch('/api/auth/logout', {
        method: 'POST',
        headers: { 'x-hub-request': '1' },
      });
      return res.status;
    });
    expect(status).toBe(200);
    expect(violations).toEqual([]);
    // Twenty pages, each given time to run: longer than the default on a busy machine.
  }, 180_000);
});
