import { open, readdir, readFile, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ensurePrivateDir, privateFileMode, type ReadingColumns } from '../db/index.js';

/**
 * The spool's on-disk format (issue 12: "the spool format is versioned and an
 * old spool still replays"). Version 2 starts each segment with the header
 * line `{"spool":2}`; version 1 (before issue 11) had no header. Batch lines
 * are the same in both: `{"d":[device ids],"t":[epoch ms],"v":[metrics JSON]}`.
 */
export const spoolFormatVersion = 2;
const header = JSON.stringify({ spool: spoolFormatVersion }) + '\n';

/** A segment this hub cannot read: written by a newer hub, or not a spool segment. */
export class SpoolFormatError extends Error {
  override name = 'SpoolFormatError';
}

export interface SpoolSegment {
  readonly version: number;
  readonly batches: ReadingColumns[];
  /** Lines that are not batches (not a torn last line): kept in quarantine, not dropped. */
  readonly bad: string[];
}

const isBatchLine = (b: unknown): b is { d: string[]; t: number[]; v: string[] } => {
  const x = b as { d?: unknown; t?: unknown; v?: unknown } | null;
  return (
    typeof x === 'object' &&
    x !== null &&
    Array.isArray(x.d) &&
    Array.isArray(x.t) &&
    Array.isArray(x.v) &&
    x.d.length === x.t.length &&
    x.d.length === x.v.length &&
    x.d.every((d) => typeof d === 'string') &&
    x.t.every((t) => typeof t === 'number' && Number.isFinite(t)) &&
    x.v.every((v) => typeof v === 'string')
  );
};

/**
 * The no-loss spool: batches that could not be committed are appended to a
 * segment file and flushed to disk (fdatasync) before their publishes are
 * acknowledged. Segments are replayed oldest first and deleted once committed.
 * One line per batch after the format header; a torn last line (a crash
 * mid-write, never acknowledged) is skipped on replay. Files are private
 * (0600 in a 0700 directory): they hold raw telemetry.
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
    await ensurePrivateDir(dir);
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
          const handle = await open(path.join(dir, name), 'a', privateFileMode);
          current = { name, handle, bytes: 0 };
          await handle.appendFile(header);
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
    /** A segment's batches, in any format version this hub knows (1 and 2). */
    async read(segment: string): Promise<SpoolSegment> {
      const text = await readFile(path.join(dir, segment), 'utf8');
      const lines = text.split('\n');
      // A complete file ends with a newline: its last element is ''.
      const last = lines.length - 1;
      const batches: ReadingColumns[] = [];
      const bad: string[] = [];
      let version = 1;
      for (let i = 0; i <= last; i++) {
        const line = lines[i]!;
        if (!line) continue;
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          // A torn last line from a crash mid-append was never acknowledged.
          if (i !== last) bad.push(line);
          continue;
        }
        if (i === 0 && typeof (parsed as { spool?: unknown } | null)?.spool === 'number') {
          version = (parsed as { spool: number }).spool;
          if (version > spoolFormatVersion || version < 2)
            throw new SpoolFormatError(
              `spool format version ${version}; this hub reads versions 1 to ${spoolFormatVersion}`,
            );
          continue;
        }
        if (isBatchLine(parsed))
          batches.push({ deviceIds: parsed.d, timesMs: parsed.t, data: parsed.v });
        else bad.push(line);
      }
      return { version, batches, bad };
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
