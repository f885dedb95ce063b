import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { authed, connectDevice, type TestHub } from '../support/hub.js';
import { chromiumPath, closeHubAndBrowser, startHubAndBrowser } from '../support/browser.js';

/** The operator's view in a real browser: a case appears live, recovers, and a lost link shows. */
describe.skipIf(!chromiumPath)('the control-room page in Chromium', () => {
  let t: TestHub;
  let browser: Browser;

  beforeAll(async () => ({ t, browser } = await startHubAndBrowser()));
  afterAll(() => closeHubAndBrowser(t, browser));

  it('shows integrity, online, lighting and closure rates per district as the API gives them', async () => {
    const page = await browser.newPage({ locale: 'zh-CN' });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(t.httpUrl + '/classic.html');
    await page.fill('#login-username', 'admin');
    await page.fill('#login-password', (await readFile(t.hub.adminPasswordFile, 'utf8')).trim());
    await page.click('#login-submit');
    // The KPI panel of the control room: the district figures of the API, Chinese first.
    await page.locator('#kpi-panel:not([hidden])').waitFor();

    await page.click('#kpi-panel summary');
    const rows = page.locator('#kpi-rows tr');
    await rows.first().waitFor();

    const api = authed(t.adminToken);
    const expected = (await (
      await api(`${t.httpUrl}/api/kpis/facilities?level=district`)
    ).json()) as {
      lightingTime: boolean;
      rows: {
        area: string;
        facilities: number;
        integrityRate: number | null;
        onlineRate: number | null;
      }[];
    };
    expect(await rows.count()).toBe(expected.rows.length);
    const percent = (r: number | null) => (r === null ? '—' : `${(r * 100).toFixed(1)} %`);
    for (const r of expected.rows) {
      const tr = page.locator(`#kpi-rows tr[data-area="${r.area}"]`);
      expect(await tr.locator('[data-kpi="facilities"]').innerText()).toBe(String(r.facilities));
      expect(await tr.locator('[data-kpi="integrityRate"]').innerText()).toBe(
        percent(r.integrityRate),
      );
      expect(await tr.locator('[data-kpi="onlineRate"]').innerText()).toBe(percent(r.onlineRate));
    }
    const header = page.locator('#kpi-panel thead');
    expect(await header.innerText()).toContain('设施完好率');
    await page.click('#lang-toggle');
    await expect.poll(async () => (await header.innerText()).split('\n')[0]).toContain('Area');
    expect(await page.locator('#kpi-panel summary').innerText()).toContain('KPIs by district');

    // A 12345 call no route takes waits for the operator; past its dispatch deadline it says so.
    const registered = await api(`${t.httpUrl}/api/cases`, {
      method: 'POST',
      body: JSON.stringify({ source: 'hotline', severity: 'minor', title: '12345：井盖异响' }),
    });
    const c = (await registered.json()) as { id: number; code: string; dispatchDueAt: string };
    const caseRow = page.locator(`#cases tr[data-case-code="${c.code}"]`);
    await caseRow.waitFor();
    expect(await caseRow.innerText()).not.toContain('dispatch late');
    await t.hub.cases.tick(new Date(Date.parse(c.dispatchDueAt) + 60_000));
    await expect.poll(async () => (await caseRow.innerText()).includes('dispatch late')).toBe(true);
    await page.screenshot({
      path: `${process.env.SCREENSHOT_DIR ?? '/tmp'}/kpi-panel.png`,
      fullPage: true,
    });
    // Cancelled, it leaves the list: the next test starts from an empty one.
    await api(`${t.httpUrl}/api/cases/${c.id}/actions/cancel`, {
      method: 'POST',
      body: JSON.stringify({ reason: '测试' }),
    });
    await expect.poll(() => caseRow.count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows a case the moment its alarm opens, marks it recovered, and warns when the link drops', async () => {
    const page = await browser.newPage({ locale: 'zh-CN' });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(t.httpUrl + '/classic.html');
    // No session yet: the login form, not the case list.
    await page.locator('#login-panel:not([hidden])').waitFor();
    const password = (await readFile(t.hub.adminPasswordFile, 'utf8')).trim();
    await page.fill('#login-username', 'admin');
    await page.fill('#login-password', 'wrong password');
    await page.click('#login-submit');
    await page.locator('#login-error:not([hidden])').waitFor();
    await page.fill('#login-password', password);
    await page.click('#login-submit');
    await page.locator('#connection[data-state="connected"]').waitFor();

    const manhole = t.devices.manhole;
    const device = await connectDevice(t.mqttUrl, manhole);
    await device.publishAsync(
      `devices/${manhole.id}/events`,
      JSON.stringify({ tilt: 60, open: true }),
      { qos: 1 },
    );

    const row = page.locator('#cases tr[data-case-code]');
    await row.first().waitFor();
    await expect.poll(() => row.count()).toBe(1);
    const text = await row.first().innerText();
    expect(text).toContain(manhole.id);
    expect(text).toContain('紧急');
    expect(text).toContain('井盖位移');

    await device.publishAsync(
      `devices/${manhole.id}/events`,
      JSON.stringify({ tilt: 1, open: false }),
      { qos: 1 },
    );
    await expect.poll(async () => (await row.first().innerText()).includes('已恢复')).toBe(true);
    // Dispatched at once by the routing table; the operator's actions are on the row.
    await expect.poll(() => row.first().getAttribute('data-state')).toBe('dispatched');
    await row.first().locator('button[data-action="reassign"]').waitFor();

    // An operator registers a 12345 call from the form; it appears on the list by itself.
    await page.click('#new-case summary');
    await page.fill('#new-case-form input[name="title"]', '12345：路面积水');
    await page.selectOption('#new-case-form select[name="facilityType"]', 'waterlogging');
    await page.fill('#new-case-form input[name="gridCode"]', manhole.gridCode);
    await page.click('#new-case-submit');
    await expect.poll(() => row.count()).toBe(2);
    expect(await row.first().innerText()).toContain('12345：路面积水');
    await page.screenshot({
      path: `${process.env.SCREENSHOT_DIR ?? '/tmp'}/control-room.png`,
      fullPage: true,
    });
    device.end(true);

    // The hub goes away: the operator must see the screen is stale, not a calm empty list.
    t.hub.dashboard.io.disconnectSockets(true);
    await t.hub.dashboard.close();
    await page.locator('#connection[data-state="disconnected"]').waitFor();
    expect(errors).toEqual([]);
  });
});
