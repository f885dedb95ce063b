import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Builds web/dist when missing or stale (scripts/build-web.mjs), so a browser
 * test runs against the UI of the code under test. `npm ci` has usually built
 * it already, and then this only compares a hash.
 */
export function ensureWebBuilt(): void {
  const script = fileURLToPath(new URL('../../scripts/build-web.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [script], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('web UI build failed (node scripts/build-web.mjs)');
}
