import { describe, expect, it } from 'vitest';
import { createLoginGuard } from './login-guard.js';

const options = {
  maxFailuresPerUser: 3,
  maxFailuresPerAddress: 5,
  windowMs: 1000,
  hashConcurrency: 2,
  hashQueueMax: 2,
  hashNice: 10,
};

describe('the login guard', () => {
  it('counts logins in flight against the limit, so parallel guesses are refused before hashing', () => {
    const guard = createLoginGuard(options);
    const inFlight = [1, 2, 3].map(() => guard.admit('Op1', '10.0.0.1'));
    expect(() => guard.admit('op1', '10.0.0.2')).toThrow(
      expect.objectContaining({ code: 'HUB_ERR_TOO_MANY_LOGINS' }),
    );
    for (const a of inFlight) a.failed();
    expect(() => guard.admit('op1', '10.0.0.3')).toThrow();
  });

  it('gives the slot back when a login ends without a verdict, and forgets failures on success', () => {
    const guard = createLoginGuard(options);
    for (let i = 0; i < 5; i++) guard.admit('op1', `10.0.0.${i}`).abandoned();
    const a = guard.admit('op1', '10.0.0.9');
    guard.admit('op1', '10.0.0.9').failed();
    a.succeeded();
    // The success cleared the failure: three more fit.
    for (let i = 0; i < 3; i++) guard.admit('op1', '10.0.1.1').failed();
    expect(() => guard.admit('op1', '10.0.1.2')).toThrow();
    guard.forget('OP1');
    expect(() => guard.admit('op1', '10.0.1.2').failed()).not.toThrow();
  });

  it('locks an address that fails for many usernames, and unlocks it after the window', () => {
    let now = 0;
    const guard = createLoginGuard(options, () => now);
    for (let i = 0; i < 5; i++) guard.admit(`user-${i}`, '10.0.0.1').failed();
    expect(() => guard.admit('someone-else', '10.0.0.1')).toThrow(
      expect.objectContaining({ code: 'HUB_ERR_TOO_MANY_LOGINS' }),
    );
    expect(() => guard.admit('someone-else', '10.0.0.2').abandoned()).not.toThrow();
    now = 1001;
    expect(() => guard.admit('someone-else', '10.0.0.1').abandoned()).not.toThrow();
  });

  it('runs two hashes at once, queues two, and refuses the next at once with 503', async () => {
    const guard = createLoginGuard(options);
    const gates: (() => void)[] = [];
    let started = 0;
    const slow = () =>
      guard.hash(
        () =>
          new Promise<number>((resolve) => {
            started++;
            gates.push(() => resolve(started));
          }),
      );
    const runs = [slow(), slow(), slow(), slow()];
    expect(started).toBe(2);
    expect(guard.load()).toEqual({ running: 2, waiting: 2 });
    await expect(slow()).rejects.toMatchObject({ code: 'HUB_ERR_LOGIN_BUSY', statusCode: 503 });
    while (gates.length) {
      gates.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(runs);
    expect(started).toBe(4);
    expect(guard.load()).toEqual({ running: 0, waiting: 0 });
  });
});
