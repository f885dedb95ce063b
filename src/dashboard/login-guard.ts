import { availableParallelism } from 'node:os';
import { HubError } from '../domain/index.js';
import { createPasswordHasher, type PasswordHasherOptions } from './password-hasher.js';

/**
 * What stands between the login route and scrypt (#17):
 *
 * - **Attempts counted before the hash is checked.** A login takes a slot of
 *   its username and of its client address before any work; a username or
 *   address whose failures plus logins in flight reach the limit is answered
 *   429 at once. 200 wrong passwords sent together for one user verify at
 *   most `maxFailuresPerUser` hashes, and the right one is refused while the
 *   lock lasts. (Counting failures after scrypt let all 199 through.)
 * - **A bounded queue for the hashing.** At most `hashConcurrency` scrypt
 *   runs at once (half the cores: the broker keeps the rest) and at most
 *   `hashQueueMax` wait; beyond that 503 at once, never an unbounded pile-up.
 *   Device CONNECTs use no scrypt (decision 0135), so a login flood cannot
 *   delay them.
 * - **At a lower CPU priority.** The hashes run on threads of their own at
 *   nice `hashNice` (password-hasher.ts, decision 0212): a flood takes the
 *   CPU the broker leaves idle, not the core a reconnect storm needs.
 * - **Yielding to a reconnecting fleet.** While `storming()` says devices
 *   connect in a storm, hashing takes at most `stormShare` of one thread's
 *   time: after a hash of d ms its slot rests d·(1/share − 1) ms, so a wrong-
 *   password flood is refused 503 at once instead of taking memory bandwidth
 *   and CPU from the CONNECTs (decision 0213). People still log in, slower.
 *
 * In memory, per hub process; both maps are bounded.
 */
export interface LoginGuardOptions {
  /** Failed logins per username in the window before it is locked (429). */
  readonly maxFailuresPerUser: number;
  /** Failed logins per client address in the window before it is locked (429). */
  readonly maxFailuresPerAddress: number;
  readonly windowMs: number;
  /** scrypt runs at once. */
  readonly hashConcurrency: number;
  /** Logins waiting for a hash slot; more are refused with 503. */
  readonly hashQueueMax: number;
  /** Nice value of the hashing threads (0 normal, 19 lowest). */
  readonly hashNice: number;
  /**
   * Nice value of the threads that hash while devices storm (decision 0217): a
   * flood then takes only the CPU a reconnecting fleet leaves. Default 19.
   */
  readonly stormNice?: number;
  /** Share of one hashing thread's time while devices storm (0.01–1; 1: no yielding). */
  readonly stormShare: number;
  /** Whether devices are connecting in a storm now (broker `createStormWatch`). */
  readonly storming?: () => boolean;
  /** Most usernames and addresses remembered (oldest forgotten first). */
  readonly maxTracked?: number;
}

/** The longest a hashing slot rests after one hash, however slow it was. */
const maxStormRestMs = 5000;

interface Tally {
  failures: number;
  inFlight: number;
  since: number;
}

export interface LoginAttempt {
  /** The password was right: the username's failures are forgotten. */
  succeeded(): void;
  /** The password was wrong (or the user unknown or disabled): one failure for both keys. */
  failed(): void;
  /** Ended without a verdict (queue full, database error): the slot is given back. */
  abandoned(): void;
}

export function createLoginGuard(
  options: LoginGuardOptions,
  now: () => number = Date.now,
  onHasherStart?: PasswordHasherOptions['onStart'],
) {
  const hasher = createPasswordHasher({
    threads: options.hashConcurrency,
    nice: options.hashNice,
    ...(onHasherStart ? { onStart: onHasherStart } : {}),
  });
  // Threads of their own, started on the first hash in a storm: a thread can lower its
  // priority but not raise it back (that needs CAP_SYS_NICE).
  const stormNice = options.stormNice ?? 19;
  const stormHasher =
    options.storming && stormNice > options.hashNice
      ? createPasswordHasher({ threads: options.hashConcurrency, nice: stormNice })
      : null;
  const hasherNow = () => (stormHasher && options.storming?.() ? stormHasher : hasher);
  const maxTracked = options.maxTracked ?? 100_000;
  const users = new Map<string, Tally>();
  const addresses = new Map<string, Tally>();

  const tally = (map: Map<string, Tally>, key: string): Tally => {
    let t = map.get(key);
    if (t && t.inFlight === 0 && now() - t.since > options.windowMs) {
      map.delete(key);
      t = undefined;
    }
    if (!t) {
      if (map.size >= maxTracked) {
        const oldest = map.keys().next().value;
        if (oldest !== undefined) map.delete(oldest);
      }
      t = { failures: 0, inFlight: 0, since: now() };
      map.set(key, t);
    }
    return t;
  };
  const release = (map: Map<string, Tally>, key: string, t: Tally) => {
    if (t.failures === 0 && t.inFlight === 0 && map.get(key) === t) map.delete(key);
  };

  let running = 0;
  /** Hashes after which the slot rested for a device storm. */
  let stormRests = 0;
  const waiting: (() => void)[] = [];
  const next = () => {
    running--;
    const start = waiting.shift();
    if (start) {
      running++;
      start();
    }
  };

  /** Runs `hash` when a slot is free; throws HUB_ERR_LOGIN_BUSY (503) when the queue is full. */
  const queued = <T>(hash: () => Promise<T>): Promise<T> => {
    if (running >= options.hashConcurrency && waiting.length >= options.hashQueueMax) {
      return Promise.reject(new HubError('HUB_ERR_LOGIN_BUSY'));
    }
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        const began = now();
        void hash()
          .then(resolve, reject)
          .finally(() => {
            const share = Math.min(1, Math.max(0.01, options.stormShare));
            if (share >= 1 || !options.storming?.()) return next();
            stormRests++;
            const rest = Math.min(maxStormRestMs, (now() - began) * (1 / share - 1));
            setTimeout(next, rest).unref();
          });
      };
      if (running < options.hashConcurrency) {
        running++;
        start();
      } else {
        waiting.push(start);
      }
    });
  };

  return {
    /**
     * Takes a slot for a login of `username` from `address`, or throws
     * HUB_ERR_TOO_MANY_LOGINS (429) when either is at its limit.
     */
    admit(username: string, address: string): LoginAttempt {
      const userKey = username.toLowerCase();
      const user = tally(users, userKey);
      const addr = tally(addresses, address);
      if (
        user.failures + user.inFlight >= options.maxFailuresPerUser ||
        addr.failures + addr.inFlight >= options.maxFailuresPerAddress
      ) {
        release(users, userKey, user);
        release(addresses, address, addr);
        throw new HubError('HUB_ERR_TOO_MANY_LOGINS');
      }
      user.inFlight++;
      addr.inFlight++;
      let settled = false;
      const settle = (outcome: 'ok' | 'failed' | 'none') => {
        if (settled) return;
        settled = true;
        user.inFlight--;
        addr.inFlight--;
        if (outcome === 'failed') {
          user.failures++;
          addr.failures++;
        }
        if (outcome === 'ok') user.failures = 0;
        release(users, userKey, user);
        release(addresses, address, addr);
      };
      return {
        succeeded: () => settle('ok'),
        failed: () => settle('failed'),
        abandoned: () => settle('none'),
      };
    },

    /** An admin reset the user's password: its lock is lifted. */
    forget(username: string): void {
      const t = users.get(username.toLowerCase());
      if (t) t.failures = 0;
    },

    hash: queued,

    /** Checks a password against its stored hash in the queue, on the hashing threads. */
    verify(secret: string, stored: string): Promise<boolean> {
      return queued(() => hasherNow().verify(secret, stored));
    },

    /** A new password's stored hash, in the queue, on the hashing threads. */
    hashPassword(secret: string): Promise<string> {
      return queued(() => hasherNow().hash(secret));
    },

    close: async () => {
      await Promise.all([hasher.close(), stormHasher?.close()]);
    },

    /** For tests and /api/health: hashes running and waiting. */
    load: () => ({ running, waiting: waiting.length, stormRests }),
  };
}

export type LoginGuard = ReturnType<typeof createLoginGuard>;

/**
 * scrypt runs at once by default: half the cores, at least one. Each run keeps
 * a core busy for its whole length; on two cores two runs took all the CPU and
 * a login flood slowed a device reconnect storm 3.2 times (#17).
 */
export const defaultHashConcurrency = Math.max(1, Math.floor(availableParallelism() / 2));

/** Defaults: 5 failures per user (as before), 30 per address, in 15 minutes. */
export const defaultLoginGuard: LoginGuardOptions = {
  maxFailuresPerUser: 5,
  maxFailuresPerAddress: 30,
  windowMs: 15 * 60_000,
  hashConcurrency: defaultHashConcurrency,
  hashQueueMax: 32,
  // Opt-in (decision 0212): at 10 a login took 4 s on a saturated 2-core machine.
  hashNice: 0,
  stormShare: 0.1,
};
