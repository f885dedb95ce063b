import type { Client } from 'aedes';
import type { Logger } from 'pino';

/**
 * Warnings about one client's refused packets, rate-limited per client (#17):
 * a device sending 1,000 refused subscriptions wrote 1,000 warning lines. A
 * client gets `perWindow` lines a window; the rest are counted, the next line
 * after the window (or the one at its disconnect) says how many were
 * suppressed, and `onSuppressed` counts each for /api/health.
 */
export function createClientWarnings(
  logger: Logger,
  options: {
    perWindow?: number;
    windowMs?: number;
    now?: () => number;
    onSuppressed?: () => void;
  } = {},
) {
  const perWindow = options.perWindow ?? 5;
  const windowMs = options.windowMs ?? 60_000;
  const now = options.now ?? Date.now;
  const state = new WeakMap<Client, { start: number; lines: number; suppressed: number }>();
  return {
    warn(client: Client, fields: Record<string, unknown>, message: string): void {
      const t = now();
      let s = state.get(client);
      if (!s || t - s.start >= windowMs) {
        const suppressed = s?.suppressed ?? 0;
        s = { start: t, lines: 0, suppressed: 0 };
        state.set(client, s);
        if (suppressed > 0) fields = { ...fields, suppressed };
      }
      if (s.lines >= perWindow) {
        s.suppressed++;
        options.onSuppressed?.();
        return;
      }
      s.lines++;
      logger.warn({ clientId: client.id, ...fields }, message);
    },
    /** At disconnect: one line with what was suppressed since the last. */
    closed(client: Client): void {
      const s = state.get(client);
      if (s && s.suppressed > 0) {
        logger.warn(
          { clientId: client.id, suppressed: s.suppressed },
          'warnings about this client suppressed',
        );
      }
      state.delete(client);
    },
  };
}
