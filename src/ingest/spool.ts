import { mkdir, open, readdir, readFile, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { ReadingColumns } from '../db/index.js';

/**
 * The no-loss spool: batches that could not be committed are appended to a
 * segment file and flushed to disk (fdatasync) before their publishes are
 * acknowledged. Segments are replayed oldest first and deleted once committed.
 * One line per batch; a torn last line (a crash mid-write, never acknowledged)
 * is skipped on replay.
 */
export function createSpool(dir: string) {
  let current: { name: string; handle: FileHandle; bytes: number } | null = null;
  let sequence = 0;
  // Appends and rotations touch the same file handle: one at a time, in call order.
  let queue: Promise<unknown> = Promise.resolve();
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = queue.then(fn, fn);
    queue = run.catch(() => {});
    return run;
  }

  const segmentName = (n: number) => `${String(n).padStart(12, '0')}.jsonl`;

  async function segments(): Promise<string[]> {
    await mkdir(dir, { recursive: true });
    return (await readdir(dir)).filter((f) => f.endsWith('.jsonl')).sort();
  }

  return {
    dir,
    /** Finds segments left by a previous run; returns how many. */
    async open(): Promise<number> {
      const found = await segments();
      const last = found.at(-1);
      sequence = last ? Number.parseInt(last, 10) : 0;
      return found.length;
    },
    append(batch: ReadingColumns): Promise<void> {
      const line = JSON.stringify({ d: batch.deviceIds, t: batch.timesMs, v: batch.data }) + '\n';
      return serial(async () => {
        if (!current) {
          const name = segmentName(++sequence);
          current = { name, handle: await open(path.join(dir, name), 'a'), bytes: 0 };
        }
        await current.handle.appendFile(line);
        await current.handle.datasync();
        current.bytes += line.length;
      });
    },
    /** Closes the segment being written, so the replayer may take it. */
    rotate(): Promise<void> {
      return serial(async () => {
        if (!current) return;
        const c = current;
        current = null;
        await c.handle.close();
      });
    },
    writing: () => current !== null,
    /** Closed segments, oldest first. */
    async closedSegments(): Promise<string[]> {
      const all = await segments();
      return current ? all.filter((s) => s !== current!.name) : all;
    },
    async read(segment: string): Promise<ReadingColumns[]> {
      const text = await readFile(path.join(dir, segment), 'utf8');
      const batches: ReadingColumns[] = [];
      for (const line of text.split('\n')) {
        if (!line) continue;
        try {
          const b = JSON.parse(line) as { d: string[]; t: number[]; v: string[] };
          batches.push({ deviceIds: b.d, timesMs: b.t, data: b.v });
        } catch {
          // A torn line from a crash mid-append: it was never acknowledged.
        }
      }
      return batches;
    },
    async remove(segment: string): Promise<void> {
      await rm(path.join(dir, segment), { force: true });
    },
    async close(): Promise<void> {
      await this.rotate();
    },
  };
}

export type Spool = ReturnType<typeof createSpool>;
