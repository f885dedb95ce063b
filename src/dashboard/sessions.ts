import type { SessionEndReason } from '../domain/index.js';

export type SessionEndListener = (tokenHashes: readonly string[], reason: SessionEndReason) => void;

/**
 * Tells the live layer which sessions ended, so their socket.io connections
 * are told (`session:ended`) and closed at once. REST needs no notice: every
 * request looks its session up. Other hub processes learn of it at their next
 * sweep (`SESSION_SWEEP_INTERVAL_MS`), which re-checks every live connection.
 */
export interface SessionEnds {
  end(tokenHashes: readonly string[], reason: SessionEndReason): void;
  /** Live connections of a user whose role, crew or area changed must re-subscribe. */
  userChanged(userId: number): void;
  onEnd(listener: SessionEndListener): void;
  onUserChanged(listener: (userId: number) => void): void;
  /**
   * Runs one at a time with the other ending steps and the sweep, so the sweep
   * never sees a half-ended session and reports it as `revoked` first.
   */
  exclusive<T>(step: () => Promise<T>): Promise<T>;
}

export function createSessionEnds(): SessionEnds {
  const endListeners: SessionEndListener[] = [];
  const changeListeners: ((userId: number) => void)[] = [];
  let tail: Promise<unknown> = Promise.resolve();
  return {
    exclusive(step) {
      const run = tail.then(step, step);
      tail = run.catch(() => {});
      return run;
    },
    end(tokenHashes, reason) {
      if (tokenHashes.length === 0) return;
      for (const l of endListeners) l(tokenHashes, reason);
    },
    userChanged(userId) {
      for (const l of changeListeners) l(userId);
    },
    onEnd(listener) {
      endListeners.push(listener);
    },
    onUserChanged(listener) {
      changeListeners.push(listener);
    },
  };
}
