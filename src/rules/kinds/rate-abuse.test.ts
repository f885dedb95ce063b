import { describe, expect, it } from 'vitest';
import { initialRateAbuseState, rateAbuseMinute } from './rate-abuse.js';

const settings = { dropsPerMinute: 100, forMinutes: 3, clearAfterMinutes: 2 };
const run = (drops: number[], open = false) => {
  const state = initialRateAbuseState(open);
  return drops.map((n, i) => rateAbuseMinute(settings, state, n, i * 60_000));
};

describe('the rate-abuse kind', () => {
  it('opens after forMinutes abusive minutes in a row, not before', () => {
    expect(run([100, 150, 100])).toEqual([null, null, 'open']);
    expect(run([100, 150, 99, 100, 100])).toEqual([null, null, null, null, null]);
  });

  it('clears only after clearAfterMinutes minutes without any drop', () => {
    expect(run([0, 1, 0, 0], true)).toEqual([null, null, null, 'clear']);
  });

  it('remembers when the abuse began', () => {
    const state = initialRateAbuseState();
    for (const [i, n] of [0, 120, 120, 120].entries())
      rateAbuseMinute(settings, state, n, i * 60_000);
    expect(state).toMatchObject({ open: true, firstMs: 60_000 });
  });
});
