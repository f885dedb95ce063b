import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authed, type TestHub } from '../support/hub.js';
import { chromiumPath, closeHubAndBrowser, startHubAndBrowser } from '../support/browser.js';
import { ensureWebBuilt } from '../support/web.js';

/** The crew's phone app (issue #13) in Chromium: drafts survive live updates; offline actions land once. */
describe.skipIf(!chromiumPath)('the crew app on a phone in Chromium', () => {
  let t: TestHub;
  let browser: Browser;

  beforeAll(async () => {
    ensureWebBuilt();
    ({ t, browser } = await startHubAndBrowser());
  });
  afterAll(() => closeHubAndBrowser(t, browser));

  it('keeps a half-typed note through another case’s change, and sends a report made offline once when the network returns', async () => {
    const api = authed(t.adminToken);
    const gas = t.devices.gas;
    const crewId = `gas-${gas.gridCode.slice(0, 6)}`;
    const made = await api(`${t.httpUrl}/api/users`, {
      method: 'POST',
      body: JSON.stringify({
        username: 'gas-crew',
        role: 'crew',
        crewId,
        password: 'gas-crew-pass',
      }),
    });
    expect(made.status).toBe(201);
    const newCase = async (title: string) => {
      const res = await api(`${t.httpUrl}/api/cases`, {
        method: 'POST',
        body: JSON.stringify({
          source: 'hotline',
          severity: 'major',
          title,
          facilityType: 'gas',
          gridCode: gas.gridCode,
        }),
      });
      return (await res.json()) as { id: number; code: string };
    };

    const context = await browser.newContext({
      locale: 'zh-CN',
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(t.httpUrl + '/#/crew');
    await page.fill('input[name="username"]', 'gas-crew');
    await page.fill('input[name="password"]', 'gas-crew-pass');
    await page.click('[data-testid="login-submit"]');
    await page.locator('[data-testid="crew-app"]').waitFor();
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor();

    const a = await newCase('12345：调压箱漏气');
    const b = await newCase('12345：燃气表箱损坏');
    const cardA = page.locator(`[data-testid="crew-case"][data-case-code="${a.code}"]`);
    const cardB = page.locator(`[data-testid="crew-case"][data-case-code="${b.code}"]`);
    await cardB.waitFor();
    await cardA.locator('button[data-action="accept"]').click();
    await page
      .locator(`[data-testid="crew-case"][data-case-code="${a.code}"][data-state="in_handling"]`)
      .waitFor();

    const note = '关闭阀门，更换密封圈，复测无泄漏';
    await cardA.locator('textarea[name="note"]').fill(note);
    await cardA.locator('input[type=file]').setInputFiles({
      name: 'fix.jpg',
      mimeType: 'image/jpeg',
      buffer: Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46]),
    });

    // Another case changes (the control room comments on it): the note stays.
    const versionB = Number(await cardB.getAttribute('data-version'));
    const commented = await api(`${t.httpUrl}/api/cases/${b.id}/actions/comment`, {
      method: 'POST',
      body: JSON.stringify({ note: '请一并检查表箱' }),
    });
    expect(commented.status).toBe(200);
    await expect
      .poll(async () => Number(await cardB.getAttribute('data-version')), { timeout: 15_000 })
      .toBeGreaterThan(versionB);
    expect(await cardA.locator('textarea[name="note"]').inputValue()).toBe(note);

    // No network: the report waits on the phone.
    await context.setOffline(true);
    await cardA.locator('button[data-action="handle"]').click();
    await page.locator('[data-testid="crew-queued"]').waitFor();
    const still = (await (await api(`${t.httpUrl}/api/cases/${a.id}`)).json()) as {
      case: { state: string };
    };
    expect(still.case.state).toBe('in_handling');
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR ?? '/tmp'}/ui-crew.png` });

    // Back online: it is sent, once, with its photo.
    await context.setOffline(false);
    await page
      .locator(`[data-testid="crew-case"][data-case-code="${a.code}"][data-state="handled"]`)
      .waitFor({ timeout: 20_000 });
    await expect.poll(() => page.locator('[data-testid="crew-queued"]').count()).toBe(0);
    const { rows } = await t.hub.db.pool.query(
      `SELECT (SELECT count(*)::int FROM case_events e WHERE e.case_id = c.id AND e.action = 'handle') AS handled,
              (SELECT count(*)::int FROM case_photos p WHERE p.case_id = c.id) AS photos,
              (SELECT e.note FROM case_events e WHERE e.case_id = c.id AND e.action = 'handle') AS note
       FROM cases c WHERE c.id = $1`,
      [a.id],
    );
    expect(rows[0]).toEqual({ handled: 1, photos: 1, note });
    expect(errors).toEqual([]);
    await context.close();
  });
});
