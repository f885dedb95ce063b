import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestHub, type TestHub } from './hub.js';
import { findTool } from './tools.js';

/** Debian's chromium (or CHROMIUM_PATH), or null with a printed reason. */
export const chromiumPath =
  process.env.CHROMIUM_PATH ?? findTool('chromium', 'apt-get install chromium (.ci/run does)');

/** Headless, and quiet on a machine with no network beyond loopback. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath!,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A test hub and a browser for a page test; `closeHubAndBrowser` in afterAll. */
export async function startHubAndBrowser(): Promise<{ t: TestHub; browser: Browser }> {
  const t = await startTestHub();
  return { t, browser: await launchBrowser() };
}

export async function closeHubAndBrowser(
  t: TestHub | undefined,
  browser: Browser | undefined,
): Promise<void> {
  await browser?.close();
  await t?.stop();
}

/** Logs in on the web UI's form at `url` (the form shows on any route without a session). */
export async function logIn(page: Page, url: string, username: string, password: string) {
  await page.goto(url);
  await page.locator('[data-testid="login"]').waitFor();
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', password);
  await page.click('[data-testid="login-submit"]');
}

/** Uncaught errors and the ones Vue logs (a failed resource, e.g. the 401 before login, is not one). */
export function watchErrors(page: Page, errors: string[]): void {
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
      errors.push(m.text());
  });
}
