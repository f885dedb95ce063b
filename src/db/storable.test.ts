import { describe, expect, it } from 'vitest';
import {
  isTransientDbError,
  storableText,
  unstorableJson,
  UnwrittenError,
  writeIsolated,
} from './storable.js';

const refusal = Object.assign(new Error('unsupported Unicode escape sequence'), { code: '22P05' });
const outage = Object.assign(new Error('terminating connection'), { code: '57P01' });

/** A fake table that refuses ranges holding a bad item, as PostgreSQL refuses a whole statement. */
function table(bad: Set<number>, down: () => boolean = () => false) {
  const stored: number[] = [];
  const statements: [number, number][] = [];
  return {
    stored,
    statements,
    write: async (start: number, end: number) => {
      statements.push([start, end]);
      if (down()) throw outage;
      for (let i = start; i < end; i++) if (bad.has(i)) throw refusal;
      for (let i = start; i < end; i++) stored.push(i);
    },
  };
}

describe('writing around rows the database refuses', () => {
  it('stores every good row and hands over each bad one alone, in order, with few statements', async () => {
    const t = table(new Set([3, 700, 701, 1999]));
    const refused: number[] = [];
    const n = await writeIsolated(2000, t.write, async (i) => void refused.push(i));
    expect(n).toBe(4);
    expect(refused).toEqual([3, 700, 701, 1999]);
    expect(t.stored).toEqual(
      Array.from({ length: 2000 }, (_, i) => i).filter((i) => !refused.includes(i)),
    );
    expect(t.statements.length).toBeLessThan(4 * 2 * 11 + 1);
  });

  it('writes a good batch with one statement', async () => {
    const t = table(new Set());
    expect(await writeIsolated(500, t.write, () => Promise.reject(new Error('none')))).toBe(0);
    expect(t.statements).toEqual([[0, 500]]);
  });

  it('stops at a transient error and names the rows not written, in order', async () => {
    let calls = 0;
    const t = table(new Set([1]), () => ++calls > 3);
    const refused: number[] = [];
    const err = await writeIsolated(8, t.write, async (i) => void refused.push(i)).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnwrittenError);
    const rest = (err as UnwrittenError).ranges.flatMap(([s, e]) =>
      Array.from({ length: e - s }, (_, i) => s + i),
    );
    // Together with what was stored and refused, every row once.
    expect([...t.stored, ...refused, ...rest].sort((a, b) => a - b)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7,
    ]);
    expect(rest).toEqual([...rest].sort((a, b) => a - b));
  });

  it('tells data errors from outages by SQLSTATE', () => {
    for (const code of ['22P05', '22021', '22008', '23505', '54000'])
      expect(isTransientDbError({ code })).toBe(false);
    for (const code of [
      '08006',
      '57P01',
      '53300',
      '40001',
      '42P01',
      'XX000',
      'ECONNREFUSED',
      undefined,
    ])
      expect(isTransientDbError({ code })).toBe(true);
    expect(isTransientDbError(new Error('Connection terminated unexpectedly'))).toBe(true);
  });
});

describe('text PostgreSQL can store', () => {
  it('finds a NUL or lone surrogate escape in JSON text, and nothing in storable text', () => {
    expect(unstorableJson(JSON.stringify({ a: 'x\u0000' }))).toMatch(/NUL/);
    expect(unstorableJson(JSON.stringify({ 'k\ud800': 1 }))).toMatch(/surrogate/);
    expect(unstorableJson(JSON.stringify({ a: '\\u0000 😀 \u0001 门' }))).toBeNull();
    expect(unstorableJson('{"a":1}')).toBeNull();
  });

  it('replaces NUL and lone surrogates with U+FFFD and leaves other text as it is', () => {
    expect(storableText('bad\u0000json\ud800')).toBe('bad\uFFFDjson\uFFFD');
    const fine = 'ok 😀 门';
    expect(storableText(fine)).toBe(fine);
  });
});
