import { describe, expect, it } from 'vitest';
import { createMinuteLimiter } from './public-routes.js';

describe('the public channel’s minute limiter (issue #16)', () => {
  it('refuses the 11th hit of a key within a minute and frees it a minute later', () => {
    let now = 1_000_000;
    const limiter = createMinuteLimiter(10, () => now);
    for (let i = 0; i < 10; i++) expect(limiter.take(['a:1.2.3.4', `f:${i}`])).toBe(-1);
    expect(limiter.take(['a:1.2.3.4', 'f:new'])).toBe(0);
    // Another address with a used fingerprint: refused by the fingerprint only.
    for (let i = 0; i < 10; i++) limiter.take([`a:10.0.0.${i}`, 'f:phone']);
    expect(limiter.take(['a:10.0.0.99', 'f:phone'])).toBe(1);
    expect(limiter.take(['a:10.0.0.99', null])).toBe(-1);
    now += 60_001;
    expect(limiter.take(['a:1.2.3.4', 'f:phone'])).toBe(-1);
  });
});
