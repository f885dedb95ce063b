import { describe, expect, it } from 'vitest';
import { createAuthThrottle, createRateLimiter } from './limits.js';

describe('the per-device token bucket', () => {
  it('lets a burst through, drops the excess, and refills at the rate', () => {
    let t = 0;
    const bucket = createRateLimiter(2, 3, () => t);
    expect([1, 2, 3, 4].map(() => bucket.take('SL-1'))).toEqual([true, true, true, false]);
    t = 500; // one token back at 2/s
    expect(bucket.take('SL-1')).toBe(true);
    expect(bucket.take('SL-1')).toBe(false);
    expect(bucket.take('SL-2')).toBe(true); // buckets are per device
    t = 60_000; // never more than the burst saved up
    expect([1, 2, 3, 4].map(() => bucket.take('SL-1'))).toEqual([true, true, true, false]);
  });
  it('says how long a device over its rate waits for its next token', () => {
    let t = 0;
    const bucket = createRateLimiter(4, 1, () => t);
    expect(bucket.msUntilToken('SL-1')).toBe(0);
    expect(bucket.take('SL-1')).toBe(true);
    expect(bucket.msUntilToken('SL-1')).toBe(250);
    t = 100;
    expect(bucket.msUntilToken('SL-1')).toBe(150);
    t = 250;
    expect(bucket.take('SL-1')).toBe(true);
  });
});

describe('the authentication throttle', () => {
  const options = { freeFailures: 2, baseDelayMs: 100, maxDelayMs: 1000, windowMs: 60_000 };

  it('delays an address only after repeated failures, doubling up to the cap', () => {
    let t = 0;
    const throttle = createAuthThrottle(options, () => t);
    expect(throttle.delayFor('10.0.0.1')).toBe(0);
    throttle.failed('10.0.0.1');
    throttle.failed('10.0.0.1');
    expect(throttle.delayFor('10.0.0.1')).toBe(100);
    throttle.failed('10.0.0.1');
    expect(throttle.delayFor('10.0.0.1')).toBe(200);
    for (let i = 0; i < 10; i++) throttle.failed('10.0.0.1');
    expect(throttle.delayFor('10.0.0.1')).toBe(1000);
    expect(throttle.delayFor('10.0.0.2')).toBe(0);
    t = 61_000;
    expect(throttle.delayFor('10.0.0.1')).toBe(0);
  });

  it('forgets an address on success and stays bounded', () => {
    const throttle = createAuthThrottle(options, () => 0, 3);
    for (const a of ['a', 'a', 'a', 'b', 'c', 'd']) throttle.failed(a);
    expect(throttle.trackedAddresses()).toBe(3);
    throttle.succeeded('d');
    expect(throttle.delayFor('d')).toBe(0);
  });
});
