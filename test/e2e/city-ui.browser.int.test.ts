import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { authed, connectDevice, type TestHub } from '../support/hub.js';
import {
  chromiumPath,
  closeHubAndBrowser,
  logIn,
  startHubAndBrowser,
  watchErrors,
} from '../support/browser.js';
import { ensureWebBuilt } from '../support/web.js';

const shots = process.env.SCREENSHOT_DIR ?? '/tmp';

/** The Vue control room (issue #13) in Chromium against a real hub. */
describe.skipIf(!chromiumPath)('the city control room in Chromium', () => {
  let t: TestHub;
  let browser: Browser;
  let password: string;

  beforeAll(async () => {
    ensureWebBuilt();
    ({ t, browser } = await startHubAndBrowser());
    password = (await readFile(t.hub.adminPasswordFile, 'utf8')).trim();
  });
  afterAll(() => closeHubAndBrowser(t, browser));

  it('shows every demo device on the map, and a lifted manhole cover as an alarm row and a red marker an operator acknowledges with a comment', async () => {
    const page = await browser.newPage({ locale: 'zh-CN', viewport: { width: 1600, height: 900 } });
    const errors: string[] = [];
    watchErrors(page, errors);

    await logIn(page, t.httpUrl + '/', 'admin', 'wrong password');
    await page.locator('[data-testid="login-error"]').waitFor();
    await page.fill('input[name="password"]', password);
    await page.click('[data-testid="login-submit"]');
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor();

    // Every device of the demo city is on the map: in a cluster or as a marker of its own.
    const map = page.locator('[data-testid="city-map"]');
    await map.locator('[data-testid="map-device"], [data-testid="map-cluster"]').first().waitFor();
    expect(await map.getAttribute('data-devices')).toBe('7');
    const onMap = async () =>
      page.evaluate(() => {
        let n = 0;
        document
          .querySelectorAll<HTMLElement>('[data-testid="map-cluster"], [data-testid="map-device"]')
          .forEach((el) => (n += Number(el.dataset.count ?? 1)));
        return n;
      });
    await expect.poll(onMap, { timeout: 15_000 }).toBe(7);

    const manhole = t.devices.manhole;
    const device = await connectDevice(t.mqttUrl, manhole);
    await device.publishAsync(
      `devices/${manhole.id}/events`,
      JSON.stringify({ tilt: 60, open: true }),
      { qos: 1 },
    );
    const row = page.locator(`[data-testid="alarm-row"][data-device-id="${manhole.id}"]`).first();
    await row.waitFor();
    expect(await row.getAttribute('data-severity')).toBe('critical');
    expect(await row.innerText()).toContain('紧急');

    // Jump to the device: its marker is red (critical) and its drawer opens.
    await row.locator('button[data-action="locate"]').click();
    const marker = page.locator(`[data-testid="map-device"][data-device-id="${manhole.id}"]`);
    await expect
      .poll(() => marker.getAttribute('data-state'), { timeout: 15_000 })
      .toBe('critical');
    const drawer = page.locator('[data-testid="device-drawer"]');
    await drawer.waitFor();
    await expect
      .poll(() => drawer.locator('[data-metric="tilt"]').innerText(), { timeout: 30_000 })
      .toContain('60');
    expect(await drawer.locator('[data-metric="tilt"]').innerText()).toContain('deg');

    // Acknowledge with a comment: an empty one is refused, then it is recorded as the user.
    await row.locator('button[data-action="ack"]').click();
    const dialog = page.locator('[data-testid="alarm-dialog"]');
    await dialog.locator('[data-testid="alarm-dialog-submit"]').click();
    await dialog.locator('[role="alert"]').waitFor();
    await dialog.locator('textarea[name="comment"]').fill('已通知养护班组到场');
    await dialog.locator('[data-testid="alarm-dialog-submit"]').click();
    await row.locator('[data-testid="alarm-acked"]').waitFor();
    expect(await row.innerText()).toContain('admin');
    const api = authed(t.adminToken);
    const { alarms } = (await (await api(`${t.httpUrl}/api/alarms?state=open`)).json()) as {
      alarms: { id: number; deviceId: string; acknowledgedBy: string | null }[];
    };
    expect(alarms.find((a) => a.deviceId === manhole.id)!.acknowledgedBy).toBe('admin');
    await page.screenshot({ path: `${shots}/ui-control-room.png` });
    device.end(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('lists a new case live and takes an action through a dialog that checks its fields', async () => {
    const page = await browser.newPage({ locale: 'zh-CN', viewport: { width: 1400, height: 900 } });
    const errors: string[] = [];
    watchErrors(page, errors);
    await logIn(page, t.httpUrl + '/#/cases', 'admin', password);
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor();

    const api = authed(t.adminToken);
    const res = await api(`${t.httpUrl}/api/cases`, {
      method: 'POST',
      body: JSON.stringify({ source: 'hotline', severity: 'minor', title: '12345：路灯不亮' }),
    });
    const { code } = (await res.json()) as { code: string };
    const caseRow = page.locator(`[data-testid="case-row"][data-case-code="${code}"]`);
    await caseRow.click();
    const detail = page.locator(`[data-testid="case-detail"][data-case-code="${code}"]`);
    await detail.waitFor();
    await detail.locator('button[data-action="cancel"]').click();
    const dialog = page.locator('[data-testid="action-dialog"][data-action="cancel"]');
    await dialog.locator('[data-testid="action-submit"]').click();
    await dialog.locator('.error').first().waitFor();
    await dialog.locator('input[name="reason"]').fill('重复来电');
    await dialog.locator('[data-testid="action-submit"]').click();
    await page
      .locator(`[data-testid="case-detail"][data-case-code="${code}"][data-state="cancelled"]`)
      .waitFor();
    expect(await detail.locator('[data-testid="case-timeline"]').innerText()).toContain('重复来电');
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('shows KPI cards per district as the API gives them, drills down to streets, and fills a 1920×1080 wall screen', async () => {
    const page = await browser.newPage({ locale: 'zh-CN', viewport: { width: 1400, height: 900 } });
    const errors: string[] = [];
    watchErrors(page, errors);
    await logIn(page, t.httpUrl + '/#/kpi', 'admin', password);
    const api = authed(t.adminToken);
    const expected = (await (
      await api(`${t.httpUrl}/api/kpis/facilities?level=district`)
    ).json()) as { rows: { area: string; facilities: number; integrityRate: number | null }[] };
    const cards = page.locator('[data-testid="kpi-card"]');
    await expect.poll(() => cards.count(), { timeout: 15_000 }).toBe(expected.rows.length);
    const percent = (r: number | null) => (r === null ? '—' : `${(r * 100).toFixed(1)} %`);
    for (const r of expected.rows) {
      const card = page.locator(`[data-testid="kpi-card"][data-area="${r.area}"]`);
      expect(await card.locator('[data-kpi="facilities"]').innerText()).toBe(String(r.facilities));
      expect(await card.locator('[data-kpi="integrityRate"]').innerText()).toBe(
        percent(r.integrityRate),
      );
    }
    expect(await cards.first().innerText()).toContain('设施完好率');

    // Each rate against its target from the catalog: the line, and met / not met in words.
    const { kpiTargets } = (await (await api(`${t.httpUrl}/api/catalog`)).json()) as {
      kpiTargets: Record<string, { value: number; direction: 'min' | 'max' }>;
    };
    expect(Object.keys(kpiTargets).sort()).toEqual(
      [
        'closureRate',
        'integrityRate',
        'lightingRate',
        'onTimeClosureRate',
        'onlineRate',
        'reworkRate',
      ].sort(),
    );
    const verdictZh = { met: '达标', below: '未达标', none: '无数据' } as const;
    for (const r of expected.rows) {
      const card = page.locator(`[data-testid="kpi-card"][data-area="${r.area}"]`);
      for (const [name, target] of Object.entries(kpiTargets)) {
        const cell = card.locator(`[data-kpi-target="${name}"]`);
        const shown = await card.locator(`[data-kpi="${name}"]`).innerText();
        const rate = shown === '—' ? null : Number(shown.replace(' %', '')) / 100;
        const want =
          rate === null
            ? 'none'
            : (target.direction === 'min' ? rate >= target.value : rate <= target.value)
              ? 'met'
              : 'below';
        // A rate shown with one decimal may sit on the line: judge the exact figure then.
        if (rate !== null && Math.abs(rate - target.value) < 0.001) continue;
        expect(await cell.getAttribute('data-met')).toBe(want);
        const text = await cell.innerText();
        expect(text).toContain(verdictZh[want]);
        expect(text).toContain(
          `${target.direction === 'min' ? '≥' : '≤'} ${(target.value * 100).toFixed(1)} %`,
        );
      }
    }
    // Integrity is a fact of every district with devices: judged, never "no data".
    const integrity = page.locator('[data-kpi-target="integrityRate"]').first();
    expect(['met', 'below']).toContain(await integrity.getAttribute('data-met'));

    // The top problem types of the last 30 days: the lifted cover of the first test.
    const problems = page.locator('[data-testid="kpi-problem"]');
    await page.locator('[data-testid="kpi-problem"][data-rule-id="manhole.displaced"]').waitFor();
    expect(await problems.first().innerText()).toContain('井盖');

    // Drill down into the first district: its streets.
    const district = expected.rows[0]!.area;
    await page.locator(`[data-testid="kpi-card"][data-area="${district}"] button`).click();
    await expect
      .poll(async () => (await cards.first().getAttribute('data-area'))?.length, {
        timeout: 15_000,
      })
      .toBe(9);
    for (const area of await cards.evaluateAll((els) =>
      els.map((e) => e.getAttribute('data-area')),
    ))
      expect(area!.startsWith(district)).toBe(true);
    await page.screenshot({ path: `${shots}/ui-kpi.png` });

    // On down: a street's communities, a community's grids; a grid has no level under it.
    for (const length of [12, 15]) {
      await cards.locator('[data-testid="kpi-drill"]').first().click();
      await expect
        .poll(async () => (await cards.first().getAttribute('data-area'))?.length, {
          timeout: 30_000,
        })
        .toBe(length);
    }
    expect(await cards.locator('[data-testid="kpi-drill"]').count()).toBe(0);
    const trail = page.locator('[data-testid="kpi-trail"]');
    expect(await trail.locator('button[data-area]').count()).toBe(3);
    // Up one level, then straight back to the city by the first crumb.
    await page.click('[data-testid="kpi-up"]');
    await expect.poll(async () => (await cards.first().getAttribute('data-area'))?.length).toBe(12);
    await trail.locator('button').first().click();
    await expect.poll(async () => (await cards.first().getAttribute('data-area'))?.length).toBe(6);
    await page.click('[data-testid="lang-toggle"]');
    await expect
      .poll(() => page.locator('[data-kpi-target="integrityRate"]').first().innerText())
      .toMatch(/Met|Not met/);
    // Back to Chinese for the wall screen's screenshot (docs/ui.md).
    await page.click('[data-testid="lang-toggle"]');
    await expect
      .poll(() => page.locator('[data-kpi-target="integrityRate"]').first().innerText())
      .toMatch(/达标|未达标/);

    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.goto(t.httpUrl + '/#/wall');
    await page.locator('[data-testid="wall-screen"] [data-testid="city-map"]').waitFor();
    await page.locator('[data-testid="wall-screen"] [data-testid="kpi-card"]').first().waitFor();
    await page.locator('[data-testid="wall-screen"] [data-testid="alarm-console"]').waitFor();
    await page.screenshot({ path: `${shots}/ui-wall.png` });
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);
});
