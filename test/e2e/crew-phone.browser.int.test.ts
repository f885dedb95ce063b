import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authed, type TestHub } from '../support/hub.js';
import { chromiumPath, closeHubAndBrowser, startHubAndBrowser } from '../support/browser.js';

/** The crew's phone page in a real browser: its new case arrives live; accept, report handled with a photo. */
describe.skipIf(!chromiumPath)('the crew phone page in Chromium', () => {
  let t: TestHub;
  let browser: Browser;

  beforeAll(async () => ({ t, browser } = await startHubAndBrowser()));
  afterAll(() => closeHubAndBrowser(t, browser));

  it('shows a crew its new case on the phone page and lets it accept and report the fix', async () => {
    const api = authed(t.adminToken);
    const gas = t.devices.gas;
    const crewId = `gas-${gas.gridCode.slice(0, 6)}`;
    const res = await api(`${t.httpUrl}/api/users`, {
      method: 'POST',
      body: JSON.stringify({
        username: 'gas-crew',
        role: 'crew',
        crewId,
        password: 'gas-crew-pass',
      }),
    });
    expect(res.status).toBe(201);
    const page = await browser.newPage({ locale: 'zh-CN' });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('dialog', (d) => void d.accept());
    await page.goto(t.httpUrl + '/crew.html');
    await page.fill('#login-username', 'gas-crew');
    await page.fill('#login-password', 'gas-crew-pass');
    await page.click('#login-submit');
    await page.locator('#connection[data-state="connected"]').waitFor();

    const created = await api(`${t.httpUrl}/api/cases`, {
      method: 'POST',
      body: JSON.stringify({
        source: 'hotline',
        severity: 'critical',
        title: '12345：闻到燃气味',
        facilityType: 'gas',
        gridCode: gas.gridCode,
      }),
    });
    const { code } = (await created.json()) as { code: string };
    const card = page.locator(`article[data-case-code="${code}"]`);
    await card.waitFor();
    await card.locator('button[data-action="accept"]').click();
    await page.locator(`article[data-case-code="${code}"][data-state="in_handling"]`).waitFor();
    await page.locator(`article[data-case-code="${code}"] textarea`).fill('关闭阀门，更换密封圈');
    await page.locator(`article[data-case-code="${code}"] input[type=file]`).setInputFiles({
      name: 'fix.jpg',
      mimeType: 'image/jpeg',
      buffer: Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46]),
    });
    await page.locator(`article[data-case-code="${code}"] button[data-action="handle"]`).click();
    await page.locator(`article[data-case-code="${code}"][data-state="handled"]`).waitFor();
    await page.screenshot({
      path: `${process.env.SCREENSHOT_DIR ?? '/tmp'}/crew-phone.png`,
      fullPage: true,
    });
    const { rows } = await t.hub.db.pool.query(
      `SELECT count(*)::int AS n FROM case_photos p JOIN cases c ON c.id = p.case_id WHERE c.code = $1`,
      [code],
    );
    expect(rows[0].n).toBe(1);
    expect(errors).toEqual([]);
  });
});
