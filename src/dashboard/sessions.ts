import type { SessionEndReason } from '../domain/index.js';

/** `fromOtherNode`: the end was announced by another hub process, which has told the others. */
export type SessionEndListener = (
  tokenHashes: readonly string[],
  reason: SessionEndReason,
  fromOtherNode: boolean,
) => void;
export type UserChangedListener = (userId: number, fromOtherNode: boolean) => void;

/**
 * Tells the live layer which sessions ended, so their socket.io connections
 * are told (`session:ended`) and closed at once. REST needs no notice: every
 * request looks its session up. In a cluster other hub processes hear of it
 * through NOTIFY (`shareSessionEnds`, src/hub/cluster.ts); their sweep
 * (`SESSION_SWEEP_INTERVAL_MS`) re-checks every live connection in case a
 * notification was lost.
 */
export interface SessionEnds {
  end(tokenHashes: readonly string[], reason: SessionEndReason, fromOtherNode?: boolean): void;
  /** Live connections of a user whose role, crew or area changed must re-subscribe. */
  userChanged(userId: number, fromOtherNode?: boolean): void;
  onEnd(listener: SessionEndListener): void;
  onUserChanged(listener: UserChangedListener): void;
  /**
   * Runs one at a time with the other ending steps and the sweep, so the sweep
   * never sees a half-ended session and reports it as `revoked` first.
   */
  exclusive<T>(step: () => Promise<T>): Promise<T>;
}

export function createSessionEnds(): SessionEnds {
  const endListeners: SessionEndListener[] = [];
  const changeListeners: UserChangedListener[] = [];
  let tail: Promise<unknown> = Promise.resolve();
  return {
    exclusive(step) {
      const run = tail.then(step, step);
      tail = run.catch(() => {});
      return run;
    },
    end(tokenHashes, reason, fromOtherNode = false) {
      if (tokenHashes.length === 0) return;
      for (const l of endListeners) l(tokenHashes, reason, fromOtherNode);
    },
    userChanged(userId, fromOtherNode = false) {
      for (const l of changeListeners) l(userId, fromOtherNode);
    },
    onEnd(listener) {
      endListeners.push(listener);
    },
    onUserChanged(listener) {
      changeListeners.push(listener);
    },
  };
}
