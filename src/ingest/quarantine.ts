import { open, readdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { ensurePrivateDir, privateFileMode } from '../db/index.js';

/**
 * The last resort for what the hub must keep but the database will not take
 * (issue 11): rows it refused whose dead letter it refused too, spool lines
 * that are not batches, segments of an unknown format. Kept as files under
 * `DATA_DIR/spool/quarantine`, each with a `.reason.txt` beside it, never
 * retried: an operator reads the reason, fixes the cause and replays or
 * deletes the file (docs/storage.md, "Quarantine"). While any is there,
 * health says `degraded`.
 */
export function createQuarantine(dir: string) {
  const counters = { rows: 0, segments: 0 };
  let files: number | null = null;
  let sequence = 0;
  const stamp = () =>
    `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}-${++sequence}`;

  async function writePrivate(file: string, text: string): Promise<void> {
    const h = await open(file, 'wx', privateFileMode);
    try {
      await h.writeFile(text);
      await h.datasync();
    } finally {
      await h.close();
    }
  }

  async function count(): Promise<number> {
    try {
      files = (await readdir(dir)).filter((f) => !f.endsWith('.reason.txt')).length;
    } catch {
      files = 0;
    }
    return files;
  }

  return {
    dir,
    counters,
    /** Files waiting for an operator, as last counted (null: not counted yet). */
    files: () => files,
    /** Counts the files again: an operator may have removed some. */
    count,
    /** Keeps `lines` (one JSON value each) in a new file, with why. */
    async keep(kind: string, lines: readonly string[], reason: string): Promise<string> {
      await ensurePrivateDir(dir);
      const name = `${stamp()}-${kind}.jsonl`;
      await writePrivate(path.join(dir, name), lines.join('\n') + '\n');
      await writePrivate(path.join(dir, `${name}.reason.txt`), reason + '\n');
      counters.rows += lines.length;
      files = (files ?? 0) + 1;
      return name;
    },
    /** Moves a whole file (a spool segment) here, with why. */
    async move(file: string, reason: string): Promise<string> {
      await ensurePrivateDir(dir);
      const name = `${stamp()}-${path.basename(file)}`;
      await rename(file, path.join(dir, name));
      await writePrivate(path.join(dir, `${name}.reason.txt`), reason + '\n');
      counters.segments++;
      files = (files ?? 0) + 1;
      return name;
    },
  };
}

export type Quarantine = ReturnType<typeof createQuarantine>;
