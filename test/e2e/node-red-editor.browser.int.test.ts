import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNodeRed, type RunningNodeRed } from '../../scripts/node-red.js';
import { chromiumPath, launchBrowser } from '../support/browser.js';

/**
 * What `npm run node-red` opens (issue #14, "Done when"): the Node-RED editor
 * behind its login, in a real browser, with the hub's nodes in the palette,
 * labelled in the browser's language.
 */
// The editor's scripts are large: a loaded machine takes close to a minute per page.
describe.skipIf(!chromiumPath)(
  'the Node-RED editor of npm run node-red',
  { timeout: 180_000 },
  () => {
    let nr: RunningNodeRed;
    let userDir: string;
    let browser: Browser;
    let password = '';

    beforeAll(async () => {
      userDir = await mkdtemp(path.join(os.tmpdir(), 'node-red-editor-'));
      // startNodeRed is what `npm run node-red` runs (scripts/node-red.ts), here on a free port.
      nr = await startNodeRed({
        userDir,
        passwordFile: path.join(userDir, 'admin-password'),
        port: 0,
        logLevel: 'fatal',
      });
      password = (await readFile(path.join(userDir, 'admin-password'), 'utf8')).trim();
      browser = await launchBrowser();
    });
    afterAll(async () => {
      await browser?.close();
      await nr?.stop();
      if (userDir) await rm(userDir, { recursive: true, force: true });
    });

    it.each([
      ['zh-CN', ['告警输入', '案件输入', '遥测输入', '设备命令', '案件操作', '查询']],
      ['en-US', ['alarm in', 'case in', 'telemetry in', 'command', 'case action', 'query']],
    ] as const)('logs in and shows the hub nodes in the palette (%s)', async (locale, labels) => {
      const page = await browser.newPage({ locale });
      try {
        await page.goto(nr.url);
        await page.locator('#node-dialog-login-username').fill('admin');
        await page.locator('#node-dialog-login-password').fill(password);
        await page.locator('#node-dialog-login-submit').click();
        const palette = page.locator('.red-ui-palette-node[data-palette-type^="hub-"]');
        await palette.first().waitFor({ timeout: 30_000 });
        const types = await palette.evaluateAll((els) =>
          els.map((e) => e.getAttribute('data-palette-type')),
        );
        expect([...types].sort()).toEqual([
          'hub-alarm-in',
          'hub-case-action',
          'hub-case-in',
          'hub-command',
          'hub-query',
          'hub-telemetry-in',
        ]);
        const shown = await page
          .locator('.red-ui-palette-node[data-palette-type^="hub-"] .red-ui-palette-label')
          .allTextContents();
        // The palette breaks labels into words for wrapping.
        expect(shown.map((s) => s.replace(/\s+/g, ' ').trim()).sort()).toEqual([...labels].sort());
      } finally {
        await page.close();
      }
    });

    it('refuses a wrong password', async () => {
      const page = await browser.newPage();
      try {
        await page.goto(nr.url);
        await page.locator('#node-dialog-login-username').fill('admin');
        await page.locator('#node-dialog-login-password').fill('not-the-password');
        await page.locator('#node-dialog-login-submit').click();
        await page.locator('#node-dialog-login-failed').waitFor({ state: 'visible' });
        expect(await page.locator('.red-ui-palette-node').count()).toBe(0);
      } finally {
        await page.close();
      }
    });
  },
);
