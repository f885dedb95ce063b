import type { Logger } from 'pino';
import type { Server as SocketServer, Socket } from 'socket.io';
import type { CaseChange, CaseFeed } from '../cases/index.js';
import {
  alarmEventsSince,
  caseEventsSince,
  liveIntegrationTokens,
  oldestAlarmVersion,
  openAlarmsIn,
  openCaseDetails,
  validSessions,
  type Queryable,
  type UserRecord,
} from '../db/index.js';
import {
  HubError,
  areaAt,
  caseScopeOf,
  type AlarmChange,
  type ClientToServerEvents,
  type ServerToClientEvents,
  type SessionEndReason,
} from '../domain/index.js';
import { sessionCookie, sessionForToken, tokenFrom } from './auth.js';
import type { AlarmFeed } from '../rules/index.js';
import type { SessionEnds } from './sessions.js';

type Io = SocketServer<ClientToServerEvents, ServerToClientEvents>;

/** Everyone without a crew or area scope: admins, operators, supervisors, viewers. */
export const cityRoom = 'city';
const crewRoom = (crewId: string) => `crew:${crewId}`;
export const areaRoom = (district: string) => `area:${district}`;
const roleRoom = (role: string) => `role:${role}`;
/** Every connection of one session, and of one user: to end them or re-scope them at once. */
const sessionRoom = (tokenHash: string) => `session:${tokenHash}`;
export const userRoom = (userId: number) => `user:${userId}`;
/** Alarms: everyone in the control room without an area, and each area code at every level. */
const alarmCityRoom = 'alarms:city';
const alarmAreaRoom = (code: string) => `alarms:area:${code}`;

/** The more a client missed, the cheaper a fresh snapshot is than a replay. */
const maxReplay = 5000;

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

/**
 * socket.io with a session on the handshake (`auth.token` or the session
 * cookie), rooms by role, area (district) and crew, and resume: a client that
 * sends `auth.sinceVersion` gets exactly the changes after it it may see,
 * replayed from `case_events` up to the case feed's cursor between two of its
 * reads, so no change slips between the replay and joining the rooms, and
 * none comes twice. Changes of every node reach the rooms through the feed.
 */
export function attachLive(
  io: Io,
  db: Queryable,
  feed: CaseFeed,
  alarmFeed: AlarmFeed,
  sessions: SessionEnds,
  logger: Logger,
): void {
  feed.onChange((change) => broadcastChange(io, change));
  alarmFeed.onChange((change) => broadcastAlarm(io, change));
  sessions.onEnd((hashes, reason) => endLive(io, hashes.map(sessionRoom), reason));
  sessions.onUserChanged((userId) => endLive(io, [userRoom(userId)], 'user_changed'));

  io.use((socket, next) => {
    const auth = (socket.handshake.auth ?? {}) as { token?: unknown };
    const cookies = parseCookies(socket.handshake.headers.cookie);
    const token = tokenFrom(typeof auth.token === 'string' ? `Bearer ${auth.token}` : undefined, {
      [sessionCookie]: cookies[sessionCookie],
    });
    sessionForToken(db, token).then(
      (session) => {
        if (!session) {
          const err = new HubError('HUB_ERR_UNAUTHENTICATED') as Error & { data?: unknown };
          err.data = { code: 'HUB_ERR_UNAUTHENTICATED' };
          return next(err);
        }
        socket.data.user = session.user;
        socket.data.tokenHash = session.tokenHash;
        next();
      },
      (err: unknown) => next(err instanceof Error ? err : new Error(String(err))),
    );
  });

  io.on('connection', (socket: Socket<ClientToServerEvents, ServerToClientEvents>) => {
    const user = socket.data.user as UserRecord;
    // At once, not after the snapshot: a session ended meanwhile must reach this socket too.
    void socket.join([sessionRoom(socket.data.tokenHash as string), userRoom(user.id)]);
    const scope = caseScopeOf(user);
    const rooms = [roleRoom(user.role)];
    if (scope.crewId) rooms.push(crewRoom(scope.crewId));
    else if (scope.area) rooms.push(areaRoom(scope.area));
    else rooms.push(cityRoom);
    const since = Number((socket.handshake.auth as { sinceVersion?: unknown }).sinceVersion);

    void feed
      .withLock(async () => {
        const upTo = feed.cursor();
        if (Number.isInteger(since) && since >= 0) {
          const missed = await caseEventsSince(db, since, scope, maxReplay + 1, upTo);
          if (missed.length <= maxReplay) {
            await socket.join(rooms);
            for (const e of missed) {
              socket.emit('case:changed', { reason: e.reason, case: e.snapshot, action: e.action });
            }
            return;
          }
        }
        const snapshot = await openCaseDetails(db, scope);
        await socket.join(rooms);
        // Resume from what the feed has sent: a later change in the snapshot comes again, harmlessly.
        socket.emit('cases:snapshot', { ...snapshot, version: Math.min(snapshot.version, upTo) });
      })
      .catch((err: unknown) => logger.error({ err }, 'case snapshot or replay failed'));

    // Crews get their work as cases; alarms are the control room's.
    if (user.role === 'crew') return;
    const alarmsSince = Number(
      (socket.handshake.auth as { alarmsSinceVersion?: unknown }).alarmsSinceVersion,
    );
    void alarmFeed
      .withLock(() => sendAlarms(socket, db, scope.area, alarmsSince, alarmFeed.cursor()))
      .catch((err: unknown) => logger.error({ err }, 'alarm snapshot or replay failed'));
  });
}

/**
 * Under the alarm feed's lock (nothing is broadcast meanwhile): the alarm
 * changes after `since` up to the feed's cursor, or a snapshot of the open
 * alarms, then the rooms; so a change is either sent here or after the join,
 * never both, never neither (decision 0160).
 */
async function sendAlarms(
  socket: Socket<ClientToServerEvents, ServerToClientEvents>,
  db: Queryable,
  area: string | null,
  since: number,
  upTo: number,
): Promise<void> {
  const room = area ? alarmAreaRoom(area) : alarmCityRoom;
  // A resume from before the oldest change kept (pruned after a week) gets a snapshot.
  if (Number.isInteger(since) && since >= 0 && since >= (await oldestAlarmVersion(db)) - 1) {
    const missed = await alarmEventsSince(db, since, area, maxReplay + 1, upTo);
    if (missed.length <= maxReplay) {
      await socket.join(room);
      for (const c of missed) socket.emit('alarm:changed', c);
      return;
    }
  }
  const alarms = await openAlarmsIn(db, area);
  await socket.join(room);
  socket.emit('alarms:snapshot', { version: upTo, alarms });
}

/** Sends an alarm change to the city and to the rooms of every area that holds it. */
export function broadcastAlarm(io: Io, change: AlarmChange): void {
  const code = change.alarm.gridCode;
  const rooms = [alarmCityRoom];
  for (const level of ['district', 'street', 'community', 'grid'] as const) {
    const at = areaAt(code, level);
    if (at) rooms.push(alarmAreaRoom(at));
  }
  io.to(rooms).emit('alarm:changed', change);
}

/** Sends a change to the rooms that may see it; socket.io sends once per socket. */
export function broadcastChange(io: Io, change: CaseChange): void {
  const c = change.case;
  const rooms = [cityRoom];
  const district = c.gridCode ? areaAt(c.gridCode, 'district') : null;
  if (district) rooms.push(areaRoom(district));
  if (c.crewId) rooms.push(crewRoom(c.crewId));
  if (change.prevCrewId) rooms.push(crewRoom(change.prevCrewId));
  io.to(rooms).emit('case:changed', { reason: change.reason, case: c, action: change.action });
}

/** Tells the connections in these rooms why, then closes them. */
function endLive(io: Io, rooms: string[], reason: SessionEndReason): void {
  if (rooms.length === 0) return;
  io.to(rooms).emit('session:ended', { reason });
  io.in(rooms).disconnectSockets(true);
}

/**
 * Closes this process's live connections whose session (or integration token) is gone: ended by
 * another hub process, expired, or its user disabled. Run by the sweep.
 */
export async function revalidateLiveSessions(
  io: Io,
  db: Queryable,
  sessions: SessionEnds,
): Promise<void> {
  const hashes = new Set<string>();
  for (const socket of io.of('/').sockets.values()) {
    const h = socket.data.tokenHash as string | undefined;
    if (h) hashes.add(h);
  }
  const [valid, tokens] = await Promise.all([
    validSessions(db, [...hashes]),
    liveIntegrationTokens(db, [...hashes]),
  ]);
  sessions.end(
    [...hashes].filter((h) => !valid.has(h) && !tokens.has(h)),
    'revoked',
  );
}
