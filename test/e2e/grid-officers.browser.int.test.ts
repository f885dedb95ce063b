import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authed,
  createUsers,
  lightingAreas,
  startTestHub,
  streetlightPlace,
  testPassword,
  waitFor,
  type TestHub,
} from '../support/hub.js';
import { chromiumPath, launchBrowser } from '../support/browser.js';
import { photoForm } from '../support/photos.js';
import { ensureWebBuilt } from '../support/web.js';

/** A whole 1×1 PNG, so the photos also render in the pages. */
const png = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
const photo = (name: string) => ({ name, mimeType: 'image/png', buffer: png });

/**
 * Grid officers and citizens in Chromium on a phone (issue #16): an inspector
 * patrols and reports with a photo and the GPS position, the control room
 * accepts it, a crew handles it, the inspector verifies on site with a photo
 * and the case closes; a failed verification sends it back as rework; a
 * citizen reports without a login, follows the tracking code and rates the
 * closed case, and is told clearly when the abuse limit refuses a report.
 */
describe.skipIf(!chromiumPath)('grid officers and citizens in Chromium', () => {
  let t: TestHub;
  let browser: Browser;
  let grid = '';
  let district = '';
  let lat = 0;
  let lon = 0;
  const tokens: Record<string, string> = {};
  const cspErrors: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    ensureWebBuilt();
    t = await startTestHub({ CASE_TICK_INTERVAL_MS: '3600000' });
    browser = await launchBrowser();
    ({ grid, district } = lightingAreas(t));
    const users = await createUsers(t.httpUrl, t.adminToken, [
      { username: 'op1', role: 'operator' },
      { username: 'insp1', role: 'inspector', areaCode: grid },
      { username: 'crew-a', role: 'crew', crewId: `lighting-${district}` },
    ]);
    for (const [name, u] of Object.entries(users)) tokens[name] = u.token;
    ({ lat, lon } = await streetlightPlace(t));
    // A build of the UI and a hub on a loaded two-core machine.
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  const api = (who: string) => authed(tokens[who] ?? t.adminToken);
  const call = async (who: string, url: string, body?: object) => {
    const res = await api(who)(`${t.httpUrl}${url}`, {
      ...(body ? { method: 'POST', body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status >= 300) throw new Error(`${url}: ${res.status} ${JSON.stringify(json)}`);
    return json as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  async function phone(opts: { at?: [number, number] } = {}): Promise<BrowserContext> {
    const [la, lo] = opts.at ?? [lat, lon];
    return browser.newContext({
      locale: 'zh-CN',
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
      geolocation: { latitude: la, longitude: lo, accuracy: 8 },
      permissions: ['geolocation'],
    });
  }

  function watch(page: Page): Page {
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text()))
        cspErrors.push(m.text());
    });
    return page;
  }

  async function logIn(page: Page, username: string, path: string): Promise<void> {
    await page.goto(`${t.httpUrl}/#${path}`);
    await page.fill('input[name="username"]', username);
    await page.fill('input[name="password"]', testPassword(username));
    await page.click('[data-testid="login-submit"]');
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor();
  }

  async function inspectorPage(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await phone();
    const page = watch(await context.newPage());
    await logIn(page, 'insp1', '/crew');
    await page.locator('[data-testid="inspector-app"]').waitFor();
    return { context, page };
  }

  /** A crew takes the case and reports it handled (its own app has its own tests). */
  async function crewHandles(caseId: number, note: string): Promise<void> {
    const c = await call('crew-a', `/api/cases/${caseId}`);
    if (c.case.state === 'dispatched')
      await call('crew-a', `/api/cases/${caseId}/actions/accept`, {});
    await call('crew-a', `/api/cases/${caseId}/actions/handle`, { note });
  }

  it('takes a problem from an inspector’s patrol through acceptance, handling and on-site verification to closed', async () => {
    const { context, page } = await inspectorPage();

    // Patrol: the phone's position is tracked and sent to the hub.
    const patrol = page.locator('[data-testid="inspector-patrol"]');
    await patrol.locator('[data-action="patrol-start"]').click();
    await page.locator('[data-testid="inspector-patrol"][data-gps="ok"]').waitFor();
    await context.setGeolocation({ latitude: lat + 0.0003, longitude: lon, accuracy: 6 });
    await waitFor(
      async () => (Number(await patrol.getAttribute('data-kept')) >= 2 ? true : undefined),
      'a second fix kept',
    );

    // Report: category from the 部件 classification, a photo from the camera, the GPS place.
    await page.click('[data-tab="report"]');
    const form = page.locator('[data-testid="inspector-report"]');
    await form.locator('select[name="major"]').selectOption('B01');
    await form.locator('select[name="categoryCode"]').selectOption('B0125');
    await form.locator('input[type=file]').setInputFiles(photo('lamp.png'));
    await form.locator('[data-testid="report-location"][data-accuracy="6"]').waitFor();
    await form.locator('textarea[name="note"]').fill('路灯不亮，灯罩破损');
    await form.locator('[data-action="report"]').click();
    await page.locator('[data-testid="report-done"]').waitFor();

    const { reports } = await call('insp1', '/api/field-reports?mine=true');
    expect(reports).toHaveLength(1);
    const report = reports[0];
    expect(report).toMatchObject({
      state: 'reported',
      categoryCode: 'B0125',
      gridCode: grid,
      accuracyM: 6,
      note: '路灯不亮，灯罩破损',
    });
    expect(report.photoIds).toHaveLength(1);
    expect(report.patrolId).not.toBeNull();

    await page.click('[data-tab="patrol"]');
    await patrol.locator('[data-action="patrol-end"]').click();
    await page.locator('[data-testid="last-patrol"]').waitFor();
    const track = await call('insp1', `/api/patrols/${report.patrolId}`);
    expect(track.patrol.endedAt).not.toBeNull();
    expect(track.patrol.pointCount).toBeGreaterThanOrEqual(2);

    // The control room accepts it from its queue: photo, place, deadline, a proper dialog.
    const desk = await browser.newContext({
      locale: 'zh-CN',
      viewport: { width: 1440, height: 900 },
    });
    const op = watch(await desk.newPage());
    await logIn(op, 'op1', '/reports');
    const row = op.locator(`[data-testid="report-row"][data-report-code="${report.code}"]`);
    await row.waitFor();
    await row.locator('.photos img').waitFor();
    expect(
      await row.locator('.photos img').evaluate((img: HTMLImageElement) => img.naturalWidth),
    ).toBe(1);
    await row.locator('[data-testid="point-map"]').waitFor();
    await expect(row.locator('[data-testid="accept-due"]').textContent()).resolves.toMatch(/剩余/);
    await op.screenshot({ path: `${process.env.SCREENSHOT_DIR ?? '/tmp'}/ui-report-queue.png` });
    await row.locator('[data-action="accept"]').click();
    const dialog = op.locator('[data-testid="report-dialog"][data-action="accept"]');
    expect(await dialog.locator('select[name="facilityType"]').inputValue()).toBe('streetlight');
    await dialog.locator('[data-testid="action-submit"]').click();
    await op.locator('[data-testid="queue-message"]').waitFor();
    await row.waitFor({ state: 'detached' });
    const accepted = await call('op1', `/api/field-reports/${report.id}`);
    const caseId = accepted.report.caseId as number;
    expect(accepted.report.state).toBe('accepted');

    // My reports shows what became of it, live.
    await page.click('[data-tab="mine"]');
    await page
      .locator(
        `[data-testid="my-report"][data-report-code="${report.code}"][data-state="accepted"]`,
      )
      .waitFor();

    await crewHandles(caseId, '更换灯具');

    // On-site verification: the task arrives, passed with a photo; the case closes.
    await page.click('[data-tab="verify"]');
    const task = page.locator(
      `[data-testid="verify-task"][data-case-code="${accepted.report.caseCode}"]`,
    );
    await task.waitFor();
    await task.locator('input[value="passed"]').check();
    await task.locator('input[type=file]').setInputFiles(photo('fixed.png'));
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR ?? '/tmp'}/ui-inspector.png` });
    await task.locator('[data-action="verify"]').click();
    await task.waitFor({ state: 'detached' });
    const closed = await call('op1', `/api/cases/${caseId}`);
    expect(closed.case.state).toBe('closed');
    const { verifications } = await call('op1', `/api/cases/${caseId}/verifications`);
    expect(verifications.map((v: { result: string }) => v.result)).toEqual(['passed']);
    expect(verifications[0].photoIds).toHaveLength(1);

    await page.click('[data-tab="mine"]');
    await page
      .locator(
        `[data-testid="my-report"][data-report-code="${report.code}"][data-case-state="closed"]`,
      )
      .waitFor();
    await desk.close();
    await context.close();
  });

  it('sends a case back as rework when the inspector fails it on site', async () => {
    const made = await api('insp1')(`${t.httpUrl}/api/field-reports`, {
      method: 'POST',
      body: photoForm({ categoryCode: 'B0125', lat, lon }),
    });
    expect(made.status).toBe(201);
    const report = (await made.json()) as { id: number };
    const { case: c } = await call('op1', `/api/field-reports/${report.id}/accept`, {
      facilityType: 'streetlight',
    });
    await crewHandles(c.id, '已处理');

    const { context, page } = await inspectorPage();
    await page.click('[data-tab="verify"]');
    const task = page.locator(`[data-testid="verify-task"][data-case-code="${c.code}"]`);
    await task.waitFor();
    await task.locator('input[value="failed"]').check();
    await task.locator('[data-action="verify"]').click();
    // A failed verification needs its reason: the page says so and sends nothing.
    await task.locator('.error').waitFor();
    await task.locator('textarea[name="note"]').fill('灯仍不亮');
    await task.locator('[data-action="verify"]').click();
    await task.waitFor({ state: 'detached' });
    const back = await call('op1', `/api/cases/${c.id}`);
    expect(back.case).toMatchObject({ state: 'in_handling', reworkCount: 1 });
    await context.close();
  });

  it('lets a citizen report without a login, follow the tracking code and rate the closed case', async () => {
    const context = await phone({ at: [lat + 0.002, lon + 0.002] });
    const page = watch(await context.newPage());
    await page.goto(`${t.httpUrl}/report.html`);
    const form = page.locator('[data-testid="citizen-report"]');
    await form.waitFor();
    expect(await page.locator('h1').textContent()).toBe('市民随手拍');
    await form.locator('input[type=file]').setInputFiles(photo('rubbish.png'));
    await page.locator('[data-testid="point-map"][data-lat]').first().waitFor();
    await waitFor(
      async () =>
        (await form.locator('[data-testid="citizen-location"]').textContent())?.includes('±')
          ? true
          : undefined,
      'the GPS position on the citizen page',
    );
    await form.locator('input[name="kind"][value="event"]').check();
    await form.locator('select[name="major"]').selectOption('S01');
    await form.locator('select[name="categoryCode"]').selectOption('S0102');
    await form.locator('textarea[name="note"]').fill('路边暴露垃圾');
    await form.locator('[data-action="submit"]').click();
    const code = (await page.locator('[data-testid="tracking-code"]').textContent())!.trim();
    expect(code).toMatch(/^[A-Z0-9]{6,}$/);
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR ?? '/tmp'}/ui-citizen.png` });

    await page.click('[data-action="follow"]');
    await page.locator('[data-testid="citizen-status"][data-status="received"]').waitFor();

    // The control room accepts it; the case is worked and closed.
    const { reports } = await call('op1', '/api/field-reports?source=citizen');
    const mine = reports.find((r: { code: string }) => r.code === code);
    expect(mine).toMatchObject({ categoryCode: 'S0102', reporterId: null });
    const { case: c } = await call('op1', `/api/field-reports/${mine.id}/accept`, {});
    if (c.state === 'registered')
      await call('op1', `/api/cases/${c.id}/actions/dispatch`, { crewId: `lighting-${district}` });
    for (const [action, body] of [
      ['accept', {}],
      ['handle', { note: '已清运' }],
      ['verify', {}],
      ['close', {}],
    ] as const)
      await call('admin', `/api/cases/${c.id}/actions/${action}`, body);

    // A new visit with the code in the address: closed, and it can be rated once.
    await page.goto('about:blank');
    await page.goto(`${t.httpUrl}/report.html#code=${code.toLowerCase()}`);
    const status = page.locator('[data-testid="citizen-status"][data-status="closed"]');
    await status.waitFor();
    await status.locator('input[name="rating"][value="satisfied"]').check();
    await status.locator('textarea[name="comment"]').fill('很快就处理了');
    await status.locator('[data-action="rate"]').click();
    await page.locator('[data-testid="citizen-rated"]').waitFor();
    expect(await page.locator('[data-testid="citizen-status"]').getAttribute('data-rating')).toBe(
      'satisfied',
    );

    // English on the toggle.
    await page.click('[data-testid="lang-toggle"]');
    await expect(
      page.locator('[data-testid="citizen-status-label"]').textContent(),
    ).resolves.toMatch(/Closed/);
    await page.click('[data-testid="lang-toggle"]');

    // The abuse limit: once this address has sent its reports for the minute, the page says so clearly.
    for (let i = 0; i < 12; i++) {
      const res = await fetch(`${t.httpUrl}/api/public/reports`, {
        method: 'POST',
        body: photoForm({ categoryCode: 'S0102', lat, lon }),
      });
      await res.arrayBuffer();
      if (res.status === 429) break;
      expect(res.status).toBe(201);
    }
    await page.click('[data-tab="report"]');
    await page
      .locator('[data-testid="citizen-report"] input[type=file]')
      .setInputFiles(photo('again.png'));
    await page.locator('input[name="kind"][value="event"]').check();
    await page.locator('select[name="major"]').selectOption('S01');
    await page.locator('select[name="categoryCode"]').selectOption('S0102');
    await page.locator('[data-action="submit"]').click();
    await expect(page.locator('[data-testid="citizen-error"]').textContent()).resolves.toMatch(
      /提交过于频繁，请一分钟后再试/,
    );
    await context.close();

    expect(cspErrors).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
