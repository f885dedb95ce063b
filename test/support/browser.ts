import { chromium, type Browser } from 'playwright-core';
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
