import { describe, expect, it } from 'vitest';
import { createDecoder } from './decode.js';

const decoder = createDecoder({ maxPayloadBytes: 1024, maxBatchReadings: 3 });
const now = Date.UTC(2026, 10, 23, 3, 0, 0);
const decode = (type: Parameters<typeof decoder.decode>[0], text: string) =>
  decoder.decode(type, Buffer.from(text), now);

describe('the payload decoder', () => {
  it('takes the broker time when a reading has no ts and strips ts and seq from the metrics', () => {
    const a = decode('waterlogging', '{"depth": 12.5}');
    expect(a.readings).toEqual([{ timeMs: now, metrics: { depth: 12.5 }, json: '{"depth":12.5}' }]);
    const b = decode('waterlogging', `{"ts": "2026-11-23T02:59:00Z", "seq": 7, "depth": 3}`);
    expect(b.readings[0]!.timeMs).toBe(now - 60_000);
    expect(b.readings[0]!.metrics).toEqual({ depth: 3 });
  });

  it('keeps the good readings of a batch and rejects the bad ones by index', () => {
    const d = decode('gas', '[{"ch4": 1}, {"ch4": 140}, {"pressure": 3.1}]');
    expect(d.readings).toHaveLength(2);
    expect(d.rejections).toEqual([
      { code: 'HUB_ERR_PAYLOAD_RANGE', reason: 'ch4 must be <= 100', index: 1 },
    ]);
  });

  it.each([
    ['{"depth": ', 'HUB_ERR_PAYLOAD_JSON'],
    ['42', 'HUB_ERR_PAYLOAD_SHAPE'],
    ['{}', 'HUB_ERR_PAYLOAD_SHAPE'],
    ['[]', 'HUB_ERR_PAYLOAD_SHAPE'],
    ['{"depth": -1}', 'HUB_ERR_PAYLOAD_RANGE'],
    ['{"depth": "deep"}', 'HUB_ERR_PAYLOAD_TYPE'],
    ['{"depth": 1, "colour": "brown"}', 'HUB_ERR_PAYLOAD_UNKNOWN_METRIC'],
    ['{"ts": "soon", "depth": 1}', 'HUB_ERR_PAYLOAD_TIMESTAMP'],
    [`{"ts": ${now + 3_600_000}, "depth": 1}`, 'HUB_ERR_PAYLOAD_TIMESTAMP'],
    // Before 2000 as a number and as ISO 8601 alike (issue #11).
    ['{"ts": 946684799999, "depth": 1}', 'HUB_ERR_PAYLOAD_TIMESTAMP'],
    ['{"ts": "1999-12-31T23:59:59.999Z", "depth": 1}', 'HUB_ERR_PAYLOAD_TIMESTAMP'],
    ['{"ts": "1970-01-01T08:00:00+08:00", "depth": 1}', 'HUB_ERR_PAYLOAD_TIMESTAMP'],
    ['[{"depth":1},{"depth":1},{"depth":1},{"depth":1}]', 'HUB_ERR_PAYLOAD_BATCH_TOO_LARGE'],
    [`{"depth": 1, "pad": "${'x'.repeat(2000)}"}`, 'HUB_ERR_PAYLOAD_TOO_LARGE'],
  ])('rejects %s with %s and stores nothing', (text, code) => {
    const d = decode('waterlogging', text);
    expect(d.readings).toEqual([]);
    expect(d.rejections[0]!.code).toBe(code);
    expect(d.rejections[0]!.reason.length).toBeGreaterThan(0);
  });

  it.each([
    ['a NUL escape in a string value', String.raw`{"fault_code": "a\u0000b"}`],
    ['a lone high surrogate', String.raw`{"fault_code": "x\ud800"}`],
    ['a lone low surrogate', String.raw`{"fault_code": "\udc00x"}`],
    ['a reversed surrogate pair', String.raw`{"fault_code": "\udc00\ud800"}`],
  ])('refuses %s as unstorable, because PostgreSQL would refuse the whole batch', (_, text) => {
    const d = decode('elevator', text);
    expect(d.readings).toEqual([]);
    expect(d.rejections).toEqual([
      {
        code: 'HUB_ERR_PAYLOAD_UNSTORABLE',
        reason: expect.stringMatching(/NUL|surrogate/),
        index: 0,
      },
    ]);
  });

  it('refuses the unstorable reading of a batch and keeps the others', () => {
    const d = decode(
      'elevator',
      String.raw`[{"floor": 1}, {"fault_code": "\u0000"}, {"floor": 2}]`,
    );
    expect(d.readings.map((r) => r.metrics)).toEqual([{ floor: 1 }, { floor: 2 }]);
    expect(d.rejections.map((r) => [r.code, r.index])).toEqual([['HUB_ERR_PAYLOAD_UNSTORABLE', 1]]);
  });

  it.each([
    ['an emoji (a surrogate pair)', '{"fault_code": "E😀1"}'],
    ['an escaped pair', String.raw`{"fault_code": "\ud83d\ude00"}`],
    ['an escaped backslash before u0000', String.raw`{"fault_code": "a\\u0000b"}`],
    ['other control characters', String.raw`{"fault_code": "a\u0001\u001fb"}`],
    ['Chinese text', '{"fault_code": "门锁故障"}'],
  ])('stores %s, which PostgreSQL takes', (_, text) => {
    const d = decode('elevator', text);
    expect(d.rejections).toEqual([]);
    expect(d.readings).toHaveLength(1);
  });

  it.each(['1e400', '-1e400', '1e309'])(
    'refuses a number beyond double range (%s) instead of storing null',
    (n) => {
      const d = decode('elevator', `{"vibration": ${n}}`);
      expect(d.readings).toEqual([]);
      expect(d.rejections[0]!.code).toBe('HUB_ERR_PAYLOAD_TYPE');
    },
  );
});
