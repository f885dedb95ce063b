import type { Logger } from 'pino';
import type { Server as SocketServer, Socket } from 'socket.io';
import {
  createEventFeed,
  deviceStatusChangesAfter,
  deviceStatusChannel,
  deviceStatusSnapshot,
  getDevice,
  newestDeviceStatusVersion,
  type EventFeed,
  type EventFeedOptions,
  type Pool,
  type Queryable,
  type UserRecord,
} from '../db/index.js';
import {
  HubError,
  controlRoomRoles,
  isDeviceId,
  type ClientAck,
  type ClientToServerEvents,
  type DeviceReadings,
  type DeviceStatusChange,
  type ServerToClientEvents,
} from '../domain/index.js';
import type { ReadingWatch } from '../ingest/index.js';

type Io = SocketServer<ClientToServerEvents, ServerToClientEvents>;
type Client = Socket<ClientToServerEvents, ServerToClientEvents>;

const statusRoom = 'devices:status';
const watchRoom = (deviceId: string) => `watch:${deviceId}`;
/** Status changes go out at most once a second (issue #13). */
const statusBatchMs = 1000;
/** Readings of a watched device go out at most every 250 ms. */
const readingsBatchMs = 250;
/** Devices one connection may watch at once (a drawer or a few tiles, not the fleet). */
export const maxWatchesPerSocket = 20;

/** Every node's device online/offline flips, in version order (decision 0162). */
export function createDeviceStatusFeed(pool: Pool, options: EventFeedOptions, logger: Logger) {
  return createEventFeed<DeviceStatusChange>(
    pool,
    {
      name: 'device status',
      channel: deviceStatusChannel,
      readAfter: async (db, after, limit) =>
        (await deviceStatusChangesAfter(db, after, limit)).map(({ version, ...c }) => ({
          version,
          event: c,
        })),
      newest: newestDeviceStatusVersion,
    },
    options,
    logger,
  );
}

const fail = (ack: ClientAck | undefined, err: HubError) =>
  ack?.({ ok: false, code: err.code, message: err.message });

/**
 * Device status and watched readings over socket.io (issue #13, decision
 * 0162). Status: `devices:subscribe` sends a compact snapshot at the status
 * feed's cursor, then every second the flips since, as `devices:changed`
 * with the version they bring the list from and to. Readings: `device:watch`
 * taps the broker for that device (one tap per device per node, however many
 * sockets watch it) and sends what arrives every 250 ms.
 */
export function attachDeviceLive(
  io: Io,
  db: Queryable,
  statusFeed: EventFeed<DeviceStatusChange>,
  readingWatch: ReadingWatch | undefined,
  logger: Logger,
) {
  // ---- status ----
  let pending: DeviceStatusChange[] = [];
  let pendingVersion = 0;
  let sentVersion = 0;
  statusFeed.onChange((change, version) => {
    pending.push({ deviceId: change.deviceId, online: change.online, at: change.at });
    pendingVersion = version;
  });
  function flushStatus(): void {
    if (pending.length === 0) return;
    io.to(statusRoom).emit('devices:changed', {
      fromVersion: sentVersion,
      version: pendingVersion,
      changes: pending,
    });
    sentVersion = pendingVersion;
    pending = [];
  }
  const statusTimer = setInterval(flushStatus, statusBatchMs);
  statusTimer.unref();

  // ---- readings ----
  const taps = new Map<string, () => void>();
  const buffered = new Map<string, DeviceReadings['readings']>();
  function ensureTap(deviceId: string): void {
    if (taps.has(deviceId) || !readingWatch) return;
    taps.set(
      deviceId,
      readingWatch.watch(deviceId, (readings) => {
        const list = buffered.get(deviceId) ?? [];
        for (const r of readings)
          list.push({ ts: new Date(r.timeMs).toISOString(), metrics: r.metrics });
        buffered.set(deviceId, list);
      }),
    );
  }
  /** Stops the tap of a device no socket of this node watches any more. */
  function releaseTap(deviceId: string): void {
    if ((io.of('/').adapter.rooms.get(watchRoom(deviceId))?.size ?? 0) > 0) return;
    taps.get(deviceId)?.();
    taps.delete(deviceId);
    buffered.delete(deviceId);
  }
  const readingsTimer = setInterval(() => {
    for (const [deviceId, readings] of buffered) {
      if (readings.length > 0)
        io.to(watchRoom(deviceId)).emit('device:readings', { deviceId, readings });
    }
    buffered.clear();
  }, readingsBatchMs);
  readingsTimer.unref();

  io.on('connection', (socket: Client) => {
    const user = socket.data.user as UserRecord;
    const watching = new Set<string>();

    socket.on('devices:subscribe', (ack) => {
      if (!controlRoomRoles.includes(user.role)) {
        return fail(
          ack,
          new HubError('HUB_ERR_FORBIDDEN', 'device status is for the control room'),
        );
      }
      void statusFeed
        .withLock(async () => {
          // Everything delivered so far goes out first, so the snapshot's version is the next batch's `fromVersion`.
          flushStatus();
          sentVersion = statusFeed.cursor();
          const snapshot = await deviceStatusSnapshot(db);
          await socket.join(statusRoom);
          socket.emit('devices:snapshot', { version: statusFeed.cursor(), ...snapshot });
          ack?.({ ok: true });
        })
        .catch((err: unknown) => {
          logger.error({ err }, 'device status snapshot failed');
          fail(ack, new HubError('HUB_ERR_INTERNAL'));
        });
    });
    socket.on('devices:unsubscribe', () => void socket.leave(statusRoom));

    socket.on('device:watch', (deviceId, ack) => {
      if (typeof deviceId !== 'string' || !isDeviceId(deviceId)) {
        return fail(ack, new HubError('HUB_ERR_BAD_REQUEST', 'not a device id'));
      }
      if (!watching.has(deviceId) && watching.size >= maxWatchesPerSocket) {
        return fail(
          ack,
          new HubError('HUB_ERR_BAD_REQUEST', `at most ${maxWatchesPerSocket} devices`),
        );
      }
      void getDevice(db, deviceId)
        .then(async (device) => {
          if (!device) return fail(ack, new HubError('HUB_ERR_DEVICE_UNKNOWN', deviceId));
          // An area user watches its own area's devices; a crew anything (its cases' devices).
          const area = user.role === 'crew' ? null : user.areaCode;
          if (area && !device.gridCode.startsWith(area)) {
            return fail(ack, new HubError('HUB_ERR_FORBIDDEN', `${deviceId} is outside ${area}`));
          }
          watching.add(deviceId);
          await socket.join(watchRoom(deviceId));
          ensureTap(deviceId);
          ack?.({ ok: true });
        })
        .catch((err: unknown) => {
          logger.error({ err, deviceId }, 'device watch failed');
          fail(ack, new HubError('HUB_ERR_INTERNAL'));
        });
    });
    socket.on('device:unwatch', (deviceId) => {
      if (typeof deviceId !== 'string' || !watching.delete(deviceId)) return;
      void socket.leave(watchRoom(deviceId));
      releaseTap(deviceId);
    });
    socket.on('disconnect', () => {
      // socket.io has left the rooms by now.
      for (const id of watching) releaseTap(id);
    });
  });

  return {
    stop(): void {
      clearInterval(statusTimer);
      clearInterval(readingsTimer);
      for (const stopTap of taps.values()) stopTap();
      taps.clear();
    },
  };
}
