import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createSpool, SpoolFormatError, spoolFormatVersion } from './spool.js';

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
    const read = (await Promise.all(segments.map((s) => spool.read(s)))).flatMap((s) => s.batches);
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
    expect((await first.read(segment!)).batches.map((b) => b.deviceIds)).toEqual([['D-1']]);

    const second = createSpool(dir);
    expect(await second.open()).toBe(1);
    await second.append(batch(3));
    await second.close();
    expect((await second.closedSegments()).length).toBe(2);
    expect((await second.closedSegments())[0]).toBe(segment);
  });

  it('writes a format header first and its files private to the hub user', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spool-'));
    dirs.push(dir);
    const spool = createSpool(path.join(dir, 'spool'));
    await spool.open();
    await spool.append(batch(1));
    await spool.close();
    const [segment] = await spool.closedSegments();
    const file = path.join(dir, 'spool', segment!);
    expect((await readFile(file, 'utf8')).split('\n')[0]).toBe(`{"spool":${spoolFormatVersion}}`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(dir, 'spool'))).mode & 0o777).toBe(0o700);
    const read = await spool.read(segment!);
    expect(read).toEqual({ version: 2, batches: [batch(1)], bad: [] });
  });

  it('still reads a segment of format 1 (no header), as spooled before issue 11', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spool-'));
    dirs.push(dir);
    await writeFile(
      path.join(dir, '000000000007.jsonl'),
      '{"d":["D-1","D-2"],"t":[1,2],"v":["{\\"n\\":1}","{\\"n\\":2}"]}\n{"d":["D-3"],"t":[3],"v":["{\\"n\\":3}"]}\n',
    );
    const spool = createSpool(dir);
    expect(await spool.open()).toBe(1);
    const read = await spool.read('000000000007.jsonl');
    expect(read.version).toBe(1);
    expect(read.batches.map((b) => b.deviceIds)).toEqual([['D-1', 'D-2'], ['D-3']]);
    // New segments number on after the old ones.
    await spool.append(batch(4));
    await spool.close();
    expect(await spool.closedSegments()).toEqual(['000000000007.jsonl', '000000000008.jsonl']);
  });

  it('refuses a segment of a newer format and hands back lines that are not batches', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spool-'));
    dirs.push(dir);
    await writeFile(path.join(dir, '000000000001.jsonl'), '{"spool":3}\n{"d":[],"t":[],"v":[]}\n');
    await writeFile(
      path.join(dir, '000000000002.jsonl'),
      '{"spool":2}\nnot json\n{"d":["D-1"],"t":["x"],"v":["{}"]}\n{"d":["D-2"],"t":[2],"v":["{}"]}\n{"d":["D-3"],"t":[3',
    );
    const spool = createSpool(dir);
    await spool.open();
    await expect(spool.read('000000000001.jsonl')).rejects.toBeInstanceOf(SpoolFormatError);
    const read = await spool.read('000000000002.jsonl');
    expect(read.batches.map((b) => b.deviceIds)).toEqual([['D-2']]);
    // The torn last line was never acknowledged; the others may have been, so they are kept.
    expect(read.bad).toEqual(['not json', '{"d":["D-1"],"t":["x"],"v":["{}"]}']);
  });

  it('reads any segment content without throwing, except a newer format: every line a batch, kept as bad, or the torn last one', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spool-'));
    dirs.push(dir);
    const spool = createSpool(dir);
    const line = fc.oneof(
      fc.constant(JSON.stringify({ d: ['D'], t: [1], v: ['{"n":1}'] })),
      fc.constant('{"spool":2}'),
      fc.jsonValue({ stringUnit: 'binary' }).map((v) => JSON.stringify(v) ?? 'null'),
      fc.string({ unit: 'binary' }).map((s) => s.replaceAll('\n', ' ')),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 8 }), fc.boolean(), async (lines, torn) => {
        const text = lines.join('\n') + (torn ? '' : '\n');
        await writeFile(path.join(dir, 'x.jsonl'), text);
        let read;
        try {
          read = await spool.read('x.jsonl');
        } catch (err) {
          expect(err).toBeInstanceOf(SpoolFormatError);
          return;
        }
        const nonEmpty = lines.filter((l) => l !== '').length;
        const header = read.version === 2 ? 1 : 0;
        expect(read.batches.length + read.bad.length + header).toBeGreaterThanOrEqual(nonEmpty - 1);
        expect(read.batches.length + read.bad.length + header).toBeLessThanOrEqual(nonEmpty);
      }),
      { numRuns: 200 },
    );
  });
});
