import { describe, expect, it } from 'vitest';
import { boundNumbers, findUnstorableText, jsonTooDeep } from './input.js';
import { parseTime } from './query.js';

describe('the HTTP input boundary', () => {
  it('finds NUL and lone surrogates in values and keys, and says where', () => {
    expect(findUnstorableText({ a: ['ok', '中文', '😀'] }, 'body')).toBeNull();
    expect(findUnstorableText({ a: ['ok', 'x\u0000'] }, 'body')).toBe('body.a[1]');
    expect(findUnstorableText({ t: 'x\ud800' }, 'body')).toBe('body.t');
    expect(findUnstorableText({ t: '\udc00x' }, 'query')).toBe('query.t');
    expect(findUnstorableText({ ['k\u0000']: 1 }, 'body')).toBe('body (a key)');
    expect(findUnstorableText('id,name\nA,ok\nB,b\u0000d\n', 'body')).toBe('body line 3');
  });

  it('measures JSON depth without parsing, brackets inside strings not counted', () => {
    expect(jsonTooDeep('[[[1]]]', 3)).toBe(false);
    expect(jsonTooDeep('[[[[1]]]]', 3)).toBe(true);
    expect(jsonTooDeep('{"a":"[[[[[[\\"[[["}', 1)).toBe(false);
    expect(jsonTooDeep('['.repeat(100_000), 32)).toBe(true);
  });

  it('bounds every integer and number a schema leaves open, and keeps declared bounds', () => {
    expect(
      boundNumbers({
        type: 'object',
        properties: {
          id: { type: 'integer', minimum: 1 },
          n: { type: ['number', 'null'] },
          e: { enum: [1, 2] },
          h: { type: 'number', exclusiveMinimum: 0, maximum: 720 },
          at: { type: 'string', format: 'date-time' },
        },
      }),
    ).toEqual({
      type: 'object',
      properties: {
        id: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
        n: {
          type: ['number', 'null'],
          minimum: -Number.MAX_SAFE_INTEGER,
          maximum: Number.MAX_SAFE_INTEGER,
        },
        e: { enum: [1, 2] },
        h: { type: 'number', exclusiveMinimum: 0, maximum: 720 },
        at: { type: 'string', format: 'date-time', pattern: '^(20\\d\\d|2100)-' },
      },
    });
  });

  it('takes times as epoch ms or ISO 8601 between 2000 and 2100 only', () => {
    expect(parseTime('2024-05-01T08:00:00+08:00', 'to', 0)).toBe(Date.UTC(2024, 4, 1));
    expect(parseTime('1714521600000', 'to', 0)).toBe(Date.UTC(2024, 4, 1));
    expect(parseTime(undefined, 'to', 7)).toBe(7);
    for (const bad of [
      "' OR '1'='1",
      '99999999999999999999',
      '1999-12-31',
      'May 1 2024',
      'Infinity',
    ]) {
      expect(() => parseTime(bad, 'to', 0), bad).toThrow(/to must/);
    }
  });
});
