/**
 * Pure limit bookkeeping for the broker (#6), with an injected clock so the
 * tests need no timers.
 */

/** A token bucket per key: `ratePerS` tokens a second, at most `burst` saved up. */
export function createRateLimiter(ratePerS: number, burst: number, now: () => number = Date.now) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refill = (key: string) => {
    const t = now();
    let b = buckets.get(key);
    if (!b) {
      b = { tokens: burst, at: t };
      buckets.set(key, b);
    } else {
      b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * ratePerS);
      b.at = t;
    }
    return b;
  };
  return {
    /** Takes one token; false when the key has none left (the message must wait). */
    take(key: string): boolean {
      const b = refill(key);
      if (b.tokens < 1) return false;
      b.tokens -= 1;
      return true;
    },
    /** Milliseconds until the key has a token again (0: it has one now). */
    msUntilToken(key: string): number {
      const b = refill(key);
      return b.tokens >= 1 ? 0 : Math.ceil(((1 - b.tokens) / ratePerS) * 1000);
    },
    forget(key: string): void {
      buckets.delete(key);
    },
    size: () => buckets.size,
  };
}

export interface AuthThrottleOptions {
  /** Failures from one address before CONNACK is delayed. */
  readonly freeFailures: number;
  /** Delay after the first counted failure; doubles with each further one. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Failures older than this are forgotten. */
  readonly windowMs: number;
}

export const defaultAuthThrottle: AuthThrottleOptions = {
  freeFailures: 3,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  windowMs: 10 * 60_000,
};

/**
 * Repeated authentication failures from one address slow that address down:
 * the answer to its next CONNECT waits `delayFor(address)` ms. A success
 * clears the address. Bounded: at most `maxAddresses` addresses are tracked.
 */
export function createAuthThrottle(
  options: AuthThrottleOptions = defaultAuthThrottle,
  now: () => number = Date.now,
  maxAddresses = 100_000,
) {
  const failures = new Map<string, { count: number; last: number }>();
  const current = (address: string) => {
    const f = failures.get(address);
    if (!f) return 0;
    if (now() - f.last > options.windowMs) {
      failures.delete(address);
      return 0;
    }
    return f.count;
  };
  return {
    delayFor(address: string): number {
      const over = current(address) - options.freeFailures;
      if (over < 0) return 0;
      return Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.min(over, 20));
    },
    failed(address: string): number {
      const count = current(address) + 1;
      failures.delete(address);
      if (failures.size >= maxAddresses) {
        const oldest = failures.keys().next().value;
        if (oldest !== undefined) failures.delete(oldest);
      }
      failures.set(address, { count, last: now() });
      return count;
    },
    succeeded(address: string): void {
      failures.delete(address);
    },
    trackedAddresses: () => failures.size,
  };
}
