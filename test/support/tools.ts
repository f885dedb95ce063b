import { execFileSync } from 'node:child_process';

/**
 * Finds a Debian tool an interop test needs. When it is absent the test
 * skips, and says so on the console: never silently.
 */
export function findTool(name: string, installHint: string): string | null {
  try {
    const found = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
    if (found) return found;
  } catch {
    // not found
  }
  console.warn(`[skip] ${name} not found: ${installHint}`);
  return null;
}
