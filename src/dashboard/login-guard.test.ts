import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hashSecret, secretCost } from '../domain/index.js';
import { createLoginGuard } from './login-guard.js';

const options = {
  maxFailuresPerUser: 3,
  maxFailuresPerAddress: 5,
  windowMs: 1000,
  hashConcurrency: 2,
  hashQueueMax: 2,
  hashNice: 10,
  stormShare: 1,
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
    expect(guard.load()).toEqual({ running: 2, waiting: 2, stormRests: 0 });
    await expect(slow()).rejects.toMatchObject({ code: 'HUB_ERR_LOGIN_BUSY', statusCode: 503 });
    while (gates.length) {
      gates.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(runs);
    expect(started).toBe(4);
    expect(guard.load()).toEqual({ running: 0, waiting: 0, stormRests: 0 });
  });

  describe('while devices storm', () => {
    afterEach(() => vi.useRealTimers());

    /** This process's threads at nice `n` (Linux: field 19 of /proc/self/task/<tid>/stat). */
    const threadsAtNice = (n: number) =>
      readdirSync('/proc/self/task').filter((tid) => {
        try {
          const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]) === n;
        } catch {
          return false; // the thread ended meanwhile
        }
      }).length;

    it('hashes on threads of the lowest priority while devices storm, and on the usual ones after', async (ctx) => {
      if (!existsSync('/proc/thread-self')) return ctx.skip(); // per-thread nice is Linux's
      let storming = true;
      const guard = createLoginGuard({
        ...options,
        hashNice: 0,
        storming: () => storming,
      });
      const stored = await hashSecret('right', secretCost.device);
      try {
        const before = threadsAtNice(19);
        await expect(guard.verify('right', stored)).resolves.toBe(true);
        expect(threadsAtNice(19)).toBe(before + 1);
        storming = false;
        const normal = threadsAtNice(0);
        await expect(guard.verify('wrong', stored)).resolves.toBe(false);
        // The usual thread started at nice 0; no other storm thread did.
        expect(threadsAtNice(0)).toBeGreaterThan(normal);
        expect(threadsAtNice(19)).toBe(before + 1);
      } finally {
        await guard.close();
      }
    });

    it('rests a slot after each hash so hashing takes at most its share, and not when the storm is over', async () => {
      vi.useFakeTimers();
      let clock = 0;
      let storming = true;
      const guard = createLoginGuard(
        { ...options, hashConcurrency: 1, stormShare: 0.25, storming: () => storming },
        () => clock,
      );
      const gates: (() => void)[] = [];
      let started = 0;
      const hash = () =>
        guard.hash(
          () =>
            new Promise<void>((resolve) => {
              started++;
              gates.push(resolve);
            }),
        );
      const runs = [hash(), hash(), hash()];
      expect(started).toBe(1);
      clock = 100; // the first hash took 100 ms: at a quarter share its slot rests 300 ms
      gates.shift()!();
      await vi.advanceTimersByTimeAsync(299);
      expect(started).toBe(1);
      expect(guard.load()).toMatchObject({ running: 1, waiting: 2, stormRests: 1 });
      // The resting slot counts as taken: a flood meanwhile is refused at once.
      await expect(hash()).rejects.toMatchObject({ code: 'HUB_ERR_LOGIN_BUSY' });
      await vi.advanceTimersByTimeAsync(1);
      expect(started).toBe(2);
      // The storm is over: the next hash starts as soon as this one ends.
      storming = false;
      gates.shift()!();
      await vi.advanceTimersByTimeAsync(0);
      expect(started).toBe(3);
      gates.shift()!();
      await Promise.all(runs);
      expect(guard.load()).toEqual({ running: 0, waiting: 0, stormRests: 1 });
    });
  });
});
