import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, closeHubAndBrowser, startHubAndBrowser } from '../support/browser.js';
import { lightingAreas, login, type TestHub } from '../support/hub.js';

/**
 * The admin page in a real browser (decision 0109): an admin creates a crew,
 * a crew user and a grid-level dispatch route, sees which route a case would
 * take, edits a deadline and a rule's case policy, and disables the user,
 * whose session ends at once.
 */
describe.skipIf(!chromiumPath)('the admin page in Chromium', () => {
  let t: TestHub;
  let browser: Browser;

  beforeAll(async () => ({ t, browser } = await startHubAndBrowser()));
  afterAll(() => closeHubAndBrowser(t, browser));

  it('creates a crew, a user and a route, resolves a grid and disables the user', async () => {
    const { grid, district } = lightingAreas(t);
    const page = await browser.newPage({ locale: 'zh-CN' });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('dialog', (d) => void d.accept());
    const adminPassword = (
      await import('node:fs/promises').then((fs) => fs.readFile(t.hub.adminPasswordFile, 'utf8'))
    ).trim();

    await page.goto(t.httpUrl + '/admin.html');
    await page.fill('#login-username', 'admin');
    await page.fill('#login-password', adminPassword);
    await page.click('#login-submit');
    await page.locator('#user-rows tr[data-username="admin"]').waitFor();

    await page.fill('#crew-form input[name=id]', `lighting-night-${district}`);
    await page.fill('#crew-form input[name=name]', '夜间抢修班');
    await page.selectOption('#crew-form select[name=departmentId]', 'lighting');
    await page.click('#crew-form button[type=submit]');
    await page.locator(`#crew-rows tr[data-crew-id="lighting-night-${district}"]`).waitFor();

    await page.fill('#user-form input[name=username]', 'night1');
    await page.fill('#user-form input[name=displayName]', '夜班 李师傅');
    await page.selectOption('#user-form select[name=role]', 'crew');
    await page.selectOption('#user-form select[name=crewId]', `lighting-night-${district}`);
    await page.fill('#user-form input[name=password]', 'night-shift-password');
    await page.click('#user-form button[type=submit]');
    await page.locator('#user-rows tr[data-username="night1"][data-enabled="true"]').waitFor();

    await page.selectOption('#route-form select[name=facilityType]', 'streetlight');
    await page.fill('#route-form input[name=areaPrefix]', grid);
    await page.selectOption('#route-form select[name=crewId]', `lighting-night-${district}`);
    await page.click('#route-form button[type=submit]');
    await page.locator('#route-rows tr', { hasText: grid }).waitFor();

    await page.selectOption('#resolve-form select[name=type]', 'streetlight');
    await page.fill('#resolve-form input[name=grid]', grid);
    await page.click('#resolve-form button[type=submit]');
    await page.locator('#resolve-result', { hasText: '夜间抢修班' }).waitFor();
    expect(await page.textContent('#resolve-result')).toContain('longest matching area prefix');

    // A refusal shows its code instead of failing silently.
    await page.click(
      `#crew-rows tr[data-crew-id="lighting-night-${district}"] button[data-act=delete]`,
    );
    await page.locator('#notice[data-kind=error]', { hasText: 'HUB_ERR_IN_USE' }).waitFor();

    const token = await login(t.httpUrl, 'night1', 'night-shift-password');
    await page.click('#user-rows tr[data-username="night1"] button[data-act=disable]');
    await page.locator('#user-rows tr[data-username="night1"][data-enabled="false"]').waitFor();
    const me = await fetch(`${t.httpUrl}/api/auth/me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(me.status).toBe(401);

    // Deadlines and case policies are edited in place.
    const { rows } = await t.hub.db.pool.query<{ id: number }>(
      `SELECT id FROM case_deadlines WHERE severity = 'critical' AND facility_type = 'elevator'`,
    );
    const deadline = page.locator(`#deadline-rows tr[data-deadline-id="${rows[0]!.id}"]`);
    await deadline.locator('input[aria-label="handle minutes"]').fill('45');
    await deadline.locator('select[aria-label="unit"]').selectOption('working');
    await deadline.locator('button[data-act=save]').click();
    await page.locator('#notice[data-kind=ok]', { hasText: 'deadline saved' }).waitFor();
    const policy = page.locator('#policy-rows tr[data-rule-id="manhole.displaced"]');
    await policy.locator('input[type=checkbox]').uncheck();
    await policy.locator('button[data-act=save]').click();
    await page
      .locator('#policy-rows tr[data-rule-id="manhole.displaced"][data-custom="true"]')
      .waitFor();
    const saved = await t.hub.db.pool.query(
      `SELECT d.handle_minutes AS handle, d.unit, p.open_case AS "openCase"
       FROM case_deadlines d, rule_case_policies p
       WHERE d.id = $1 AND p.rule_id = 'manhole.displaced'`,
      [rows[0]!.id],
    );
    expect(saved.rows[0]).toEqual({ handle: 45, unit: 'working', openCase: false });

    // The control room links here for admins.
    await page.goto(t.httpUrl + '/classic.html');
    await page.locator('#admin-link').click();
    await page.locator('#user-rows tr[data-username="night1"]').waitFor();

    await page.screenshot({
      path: `${process.env.SCREENSHOT_DIR ?? '/tmp'}/admin-page.png`,
      fullPage: true,
    });
    expect(errors).toEqual([]);
  });
});
