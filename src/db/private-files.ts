import { chmod, lstat, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Files at rest (issue 11, "At rest"): `DATA_DIR` holds raw telemetry (spool
 * segments, quarantine, MQTT sessions) and credentials, so everything under
 * it is the hub user's alone: directories 0700, files 0600.
 */
export const privateFileMode = 0o600;
export const privateDirMode = 0o700;

/** Creates `dir` (and missing parents) private, and closes it if it existed open. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: privateDirMode });
  const { mode } = await lstat(dir);
  if ((mode & 0o077) !== 0) await chmod(dir, mode & 0o700);
}

/**
 * Takes group and other permissions off everything under `root` (an install
 * from before issue 11 wrote 0644 files in 0755 directories). Symbolic links
 * are not followed; entries named in `skip` (relative to root, e.g. the
 * embedded PostgreSQL cluster, whose server checks its own modes) are left
 * alone. Returns the paths it changed.
 */
export async function tightenTree(root: string, skip: readonly string[] = []): Promise<string[]> {
  const changed: string[] = [];
  const skipped = new Set(skip.map((s) => path.join(root, s)));
  async function visit(p: string): Promise<void> {
    let st;
    try {
      st = await lstat(p);
    } catch {
      return; // removed meanwhile
    }
    if (st.isSymbolicLink()) return;
    if ((st.mode & 0o077) !== 0) {
      await chmod(p, st.mode & 0o700);
      changed.push(p);
    }
    if (!st.isDirectory() || skipped.has(p)) return;
    for (const name of await readdir(p)) await visit(path.join(p, name));
  }
  await visit(root);
  return changed;
}
