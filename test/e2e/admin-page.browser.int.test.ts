import { readFile } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chromiumPath,
  closeHubAndBrowser,
  logIn,
  startHubAndBrowser,
  watchErrors,
} from '../support/browser.js';
import { authed, lightingAreas, login, type TestHub } from '../support/hub.js';
import { ensureWebBuilt } from '../support/web.js';

/**
 * The administration of the web UI (issue #13, item 10; decision 0180) in a
 * real browser against a real hub: an admin follows an old /admin.html
 * bookmark, logs in once, and on that one session creates a crew and a crew
 * user, an integration token (seen once), imports a devices CSV and reads its
 * report, sets and edits a threshold override, routes a grid to the crew,
 * edits a deadline and a case policy, and disables the user, whose session
 * ends at once. Every change is checked over REST.
 */
describe.skipIf(!chromiumPath)('the admin pages of the web UI in Chromium', () => {
  let t: TestHub;
  let browser: Browser;

  beforeAll(async () => {
    ensureWebBuilt();
    ({ t, browser } = await startHubAndBrowser());
  });
  afterAll(() => closeHubAndBrowser(t, browser));

  it('administers users, tokens, devices, overrides, routes and deadlines on one login', async () => {
    const rest = authed(t.adminToken);
    const json = async <T>(path: string): Promise<T> => {
      const res = await rest(t.httpUrl + path);
      expect(res.status, path).toBe(200);
      return (await res.json()) as T;
    };
    const { grid, district } = lightingAreas(t);
    const crewId = `lighting-night-${district}`;
    const page = await browser.newPage({
      locale: 'zh-CN',
      viewport: { width: 1500, height: 1000 },
    });
    const errors: string[] = [];
    watchErrors(page, errors);
    const dialog = (id: string) => page.getByTestId(id);
    const nav = (section: string) => page.getByTestId(`admin-nav-${section}`).click();

    // An old bookmark of the classic page lands in the web UI's admin, behind its one login.
    const password = (await readFile(t.hub.adminPasswordFile, 'utf8')).trim();
    await logIn(page, t.httpUrl + '/admin.html', 'admin', password);
    expect(page.url()).toBe(`${t.httpUrl}/#/admin/users`);
    await page.locator('[data-testid="user-row"][data-username="admin"]').waitFor();

    // A crew, then a crew user in it; a bad form is refused in the dialog before any request.
    await nav('org');
    await page.getByTestId('crew-new').click();
    await dialog('org-dialog').locator('input[name="id"]').fill(crewId);
    await dialog('org-dialog').locator('input[name="name"]').fill('夜间抢修班');
    await dialog('org-dialog').locator('select[name="departmentId"]').selectOption('lighting');
    await dialog('org-dialog').getByTestId('dialog-submit').click();
    await page.locator(`[data-testid="crew-row"][data-id="${crewId}"]`).waitFor();

    await nav('users');
    await page.getByTestId('user-new').click();
    const userDialog = dialog('user-dialog');
    await userDialog.locator('input[name="username"]').fill('night1');
    await userDialog.locator('input[name="displayName"]').fill('夜班 李师傅');
    await userDialog.locator('select[name="role"]').selectOption('crew');
    await userDialog.locator('input[name="password"]').fill('short');
    await userDialog.getByTestId('dialog-submit').click();
    await userDialog.getByText('处置员必须属于一个班组').waitFor();
    await userDialog.getByText('至少 10 位').waitFor();
    await userDialog.locator('select[name="crewId"]').selectOption(crewId);
    await userDialog.locator('input[name="password"]').fill('night-shift-password');
    await userDialog.getByTestId('dialog-submit').click();
    await page
      .locator('[data-testid="user-row"][data-username="night1"][data-enabled="true"]')
      .waitFor();
    const { users } = await json<{ users: { username: string; role: string; crewId: string }[] }>(
      '/api/users?role=crew',
    );
    expect(users.find((u) => u.username === 'night1')).toMatchObject({ role: 'crew', crewId });

    // An integration token, shown this once, works as a bearer token at once.
    await nav('tokens');
    await page.getByTestId('token-new').click();
    await dialog('token-dialog').locator('input[name="name"]').fill('grafana-proxy');
    await dialog('token-dialog').locator('select[name="role"]').selectOption('viewer');
    await dialog('token-dialog').getByTestId('dialog-submit').click();
    const token = (await dialog('token-once').getByTestId('secret-value').textContent())!.trim();
    expect(token).toMatch(/^hubit_/);
    await dialog('token-once').getByTestId('secret-close').click();
    await page.locator('[data-testid="token-row"][data-name="grafana-proxy"]').waitFor();
    expect(await page.getByTestId('secret-value').count()).toBe(0);
    const me = await fetch(`${t.httpUrl}/api/auth/me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { user: { username: string } }).user.username).toBe(
      'token:grafana-proxy',
    );

    // A devices CSV: two good rows and one in a grid the city does not have.
    await nav('devices');
    await page
      .getByTestId('import-text')
      .fill(
        [
          'id,type,grid,name,lat,lon,vendor',
          `UI-SL-1,streetlight,${grid},建设路 1 号灯,27.86,112.91,acme`,
          `UI-SL-2,streetlight,${grid},建设路 2 号灯,27.86,112.92,acme`,
          'UI-SL-3,streetlight,999999999999999,无此网格,,,',
        ].join('\n'),
      );
    await page.getByTestId('import-submit').click();
    const report = page.getByTestId('import-report');
    await report.getByText('导入 2 台，拒绝 1 行').waitFor();
    expect(await report.locator('tr[data-line="4"]').textContent()).toContain('999999999999999');
    expect(await report.getByTestId('import-secrets').getAttribute('download')).toBe(
      'device-secrets.csv',
    );
    await page.screenshot({
      path: `${process.env.SCREENSHOT_DIR ?? '/tmp'}/ui-admin-devices.png`,
      fullPage: true,
    });
    const imported = await json<{ id: string; gridCode: string }>('/api/devices/UI-SL-2');
    expect(imported.gridCode).toBe(grid);
    expect((await rest(`${t.httpUrl}/api/devices/UI-SL-3`)).status).toBe(404);

    // A site's own dust limit, then edited: the override is merged and applies over REST.
    await nav('rules');
    await page
      .locator('[data-testid="rule-row"][data-rule-id="dust_noise.pm10"] button[data-act="open"]')
      .click();
    await page.locator('[data-testid="rule-detail"][data-rule-id="dust_noise.pm10"]').waitFor();
    await page.getByTestId('override-new').click();
    const overrideDialog = dialog('override-dialog');
    await overrideDialog.locator('select[name="scope"]').selectOption('site');
    await overrideDialog.locator('input[name="scopeId"]').fill('工地-001');
    await overrideDialog.locator('textarea[name="settings"]').fill('{"raise": [');
    await overrideDialog.getByTestId('dialog-submit').click();
    await overrideDialog.getByText('不是有效的 JSON').waitFor();
    await overrideDialog
      .locator('textarea[name="settings"]')
      .fill('{"raise": [{"metric": "pm10", "op": ">", "value": 180}]}');
    await overrideDialog.getByTestId('dialog-submit').click();
    const override = page.locator(
      '[data-testid="override-row"][data-scope="site"][data-scope-id="工地-001"]',
    );
    await override.waitFor();
    await override.locator('button[data-act="edit"]').click();
    await dialog('override-dialog')
      .locator('textarea[name="settings"]')
      .fill('{"raise": [{"metric": "pm10", "op": ">", "value": 160}]}');
    await dialog('override-dialog').getByTestId('dialog-submit').click();
    await override.getByText('160').waitFor();
    await page.screenshot({
      path: `${process.env.SCREENSHOT_DIR ?? '/tmp'}/ui-admin-rules.png`,
      fullPage: true,
    });
    const rule = await json<{ overrides: { scope: string; scopeId: string; settings: unknown }[] }>(
      '/api/rules/dust_noise.pm10',
    );
    expect(rule.overrides).toEqual([
      expect.objectContaining({
        scope: 'site',
        scopeId: '工地-001',
        settings: { raise: [{ metric: 'pm10', op: '>', value: 160 }] },
      }),
    ]);

    // A grid routed to the new crew, and the trial says why.
    await nav('routing');
    await page.getByTestId('route-new').click();
    await dialog('route-dialog').locator('select[name="facilityType"]').selectOption('streetlight');
    await dialog('route-dialog').locator('input[name="areaPrefix"]').fill(grid);
    await dialog('route-dialog').locator('select[name="crewId"]').selectOption(crewId);
    await dialog('route-dialog').getByTestId('dialog-submit').click();
    await page.locator('[data-testid="route-row"]', { hasText: grid }).waitFor();
    await page
      .locator('[data-testid="route-resolve"] select[name="type"]')
      .selectOption('streetlight');
    await page.locator('[data-testid="route-resolve"] input[name="grid"]').fill(grid);
    await page.locator('[data-testid="route-resolve"] button[type="submit"]').click();
    await page.getByTestId('route-resolution').getByText('夜间抢修班').waitFor();
    expect(await page.getByTestId('route-resolution').textContent()).toContain(
      'longest matching area prefix',
    );

    // Deleting a crew still in use is refused with the hub's code, after a confirmation.
    await nav('org');
    await page
      .locator(`[data-testid="crew-row"][data-id="${crewId}"] button[data-act="delete"]`)
      .click();
    await dialog('confirm-dialog').getByTestId('dialog-submit').click();
    await page
      .locator('[data-testid="admin-notice"][data-kind="error"]', { hasText: 'HUB_ERR_IN_USE' })
      .waitFor();

    // Deadlines and case policies are edited in place.
    const { deadlines } = await json<{
      deadlines: { id: number; severity: string; facilityType: string | null }[];
    }>('/api/case-deadlines');
    const target = deadlines.find(
      (d) => d.severity === 'critical' && d.facilityType === 'elevator',
    )!;
    await nav('deadlines');
    const deadline = page.locator(`[data-testid="deadline-row"][data-deadline-id="${target.id}"]`);
    await deadline.locator('input[name="handleMinutes"]').fill('45');
    await deadline.locator('select[name="unit"]').selectOption('working');
    await deadline.locator('button[data-act="save"]').click();
    await page
      .locator('[data-testid="admin-notice"][data-kind="ok"]', { hasText: '时限已保存' })
      .waitFor();
    const policy = page.locator('[data-testid="policy-row"][data-rule-id="manhole.displaced"]');
    await policy.locator('input[name="openCase"]').uncheck();
    await policy.locator('button[data-act="save"]').click();
    await page
      .locator('[data-testid="policy-row"][data-rule-id="manhole.displaced"][data-custom="true"]')
      .waitFor();
    const after = await json<{ deadlines: { id: number; handleMinutes: number; unit: string }[] }>(
      '/api/case-deadlines',
    );
    expect(after.deadlines.find((d) => d.id === target.id)).toMatchObject({
      handleMinutes: 45,
      unit: 'working',
    });
    const { policies } = await json<{ policies: { ruleId: string; openCase: boolean }[] }>(
      '/api/rule-case-policies',
    );
    expect(policies.find((p) => p.ruleId === 'manhole.displaced')?.openCase).toBe(false);

    // Disabling a user ends its session at once.
    const nightToken = await login(t.httpUrl, 'night1', 'night-shift-password');
    await nav('users');
    await page
      .locator('[data-testid="user-row"][data-username="night1"] button[data-act="disable"]')
      .click();
    await page
      .locator('[data-testid="user-row"][data-username="night1"][data-enabled="false"]')
      .waitFor();
    const ended = await fetch(`${t.httpUrl}/api/auth/me`, {
      headers: { authorization: `Bearer ${nightToken}` },
    });
    expect(ended.status).toBe(401);

    // The classic control room links admins here too, on the same session.
    await page.goto(t.httpUrl + '/classic.html');
    await page.locator('#admin-link:not([hidden])').click();
    await page.locator('[data-testid="user-row"][data-username="night1"]').waitFor();

    await page.screenshot({
      path: `${process.env.SCREENSHOT_DIR ?? '/tmp'}/ui-admin-users.png`,
      fullPage: true,
    });
    expect(errors).toEqual([]);
    // A whole administration session in one browser: longer than the default on a busy machine.
  }, 240_000);
});
