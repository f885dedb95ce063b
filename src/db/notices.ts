import type { Logger } from 'pino';
import type { SessionEndReason } from '../domain/index.js';
import type { DeviceIdentity } from './devices.js';
import { createListener } from './listen.js';
import type { Pool } from './pool.js';

/*
 * Notices between the hub's processes (decisions 0110, 0115): a channel each,
 * NOTIFY to send and the pool's one LISTEN connection to receive. Who sends
 * and what a process does with a notice is the hub's wiring (hub/cluster.ts).
 */

/** Rule edits: the editing process names itself, the others reload. */
export const rulesChannel = 'hub_rules_changed';
/** Ended sessions and changed users, for every API process's live connections. */
export const sessionsChannel = 'hub_sessions_ended';
/** Readings replayed from dead letters through a process without rules, for the leader's. */
export const replaysChannel = 'hub_readings_replayed';

export type SessionNotice =
  | { from: string; reason: SessionEndReason; tokenHashes: string[] }
  | { from: string; reason: 'user_changed'; userId: number };

export type ReplayedDevice = Pick<DeviceIdentity, 'id' | 'type' | 'gridCode'>;
export interface ReplayNotice {
  device: ReplayedDevice;
  readings: { readonly timeMs: number; readonly metrics: Record<string, unknown> }[];
}

const retryMs = 10_000;
/** Under PostgreSQL's 8000-byte NOTIFY limit, with room for the device. */
const replayNotifyBytes = 7000;

const notify = async (pool: Pool, channel: string, payload: string): Promise<void> => {
  await pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
};

/** A listener for JSON notices; null (after a (re)connect) is not a notice here. */
function listenJson<T>(
  pool: Pool,
  channel: string,
  what: string,
  onNotice: (notice: T) => void,
  logger: Logger,
) {
  return createListener(
    pool,
    channel,
    (payload) => {
      if (payload === null) return;
      try {
        onNotice(JSON.parse(payload) as T);
      } catch (err) {
        logger.warn({ err }, `bad ${what} notification`);
      }
    },
    { retryMs },
    logger,
  );
}

export const noticeRulesChanged = (pool: Pool, nodeId: string) =>
  notify(pool, rulesChannel, nodeId);

/**
 * Listens for rule edits; `onNotice` gets the editing node's id, or null after
 * a (re)connect, for an edit sent while nobody listened.
 */
export const listenRulesChanged = (
  pool: Pool,
  onNotice: (from: string | null) => void,
  logger: Logger,
) => createListener(pool, rulesChannel, onNotice, { retryMs }, logger);

export const noticeSessions = (pool: Pool, notice: SessionNotice) =>
  notify(pool, sessionsChannel, JSON.stringify(notice));

export const listenSessions = (
  pool: Pool,
  onNotice: (notice: SessionNotice) => void,
  logger: Logger,
) => listenJson(pool, sessionsChannel, 'ended-sessions', onNotice, logger);

/** Sends replayed readings, halved until each notice fits the NOTIFY limit. */
export async function noticeReplay(
  pool: Pool,
  device: ReplayedDevice,
  readings: ReplayNotice['readings'],
): Promise<void> {
  const payload = JSON.stringify({ device, readings } satisfies ReplayNotice);
  if (Buffer.byteLength(payload) <= replayNotifyBytes || readings.length === 1) {
    await notify(pool, replaysChannel, payload);
    return;
  }
  const half = Math.ceil(readings.length / 2);
  await noticeReplay(pool, device, readings.slice(0, half));
  await noticeReplay(pool, device, readings.slice(half));
}

export const listenReplays = (
  pool: Pool,
  onNotice: (notice: ReplayNotice) => void,
  logger: Logger,
) => listenJson(pool, replaysChannel, 'replayed-readings', onNotice, logger);
