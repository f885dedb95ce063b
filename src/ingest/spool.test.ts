import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSpool } from './spool.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
const batch = (i: number) => ({ deviceIds: [`D-${i}`], timesMs: [i], data: [`{"n":${i}}`] });

describe('the spool', () => {
  it('keeps every batch when appends and rotations interleave', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spool-'));
    dirs.push(dir);
    const spool = createSpool(dir);
    await spool.open();
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        i % 7 === 3 ? spool.rotate().then(() => spool.append(batch(i))) : spool.append(batch(i)),
      ),
    );
    await spool.close();
    const segments = await spool.closedSegments();
    expect(segments.length).toBeGreaterThan(1);
    const read = (await Promise.all(segments.map((s) => spool.read(s)))).flat();
    expect(read.map((b) => b.timesMs[0]).sort((a, b) => a! - b!)).toEqual(
      Array.from({ length: 60 }, (_, i) => i),
    );
  });

  it('skips a torn last line and continues numbering after segments left by a previous run', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spool-'));
    dirs.push(dir);
    const first = createSpool(dir);
    await first.open();
    await first.append(batch(1));
    await first.close();
    const [segment] = await first.closedSegments();
    await appendFile(path.join(dir, segment!), '{"d":["D-2"],"t":[2');
    expect((await first.read(segment!)).map((b) => b.deviceIds)).toEqual([['D-1']]);

    const second = createSpool(dir);
    expect(await second.open()).toBe(1);
    await second.append(batch(3));
    await second.close();
    expect((await second.closedSegments()).length).toBe(2);
    expect((await second.closedSegments())[0]).toBe(segment);
  });
});
