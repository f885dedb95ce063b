import type { Logger } from 'pino';
import { deviceTopic, type DeviceStatusMessage } from '../domain/index.js';
import { infoOf, type BrokerContext } from './context.js';
import { createStatusTracker, type StatusSink } from './status.js';

export type Publish = (
  topic: string,
  payload: string,
  qos: 0 | 1,
  retain?: boolean,
) => Promise<void>;

/**
 * Who is online (#6): the status tracker of this node (batched to
 * PostgreSQL) follows connects and disconnects, and each change is published
 * as the device's retained `status` message.
 */
export function createPresence(
  options: { sink?: StatusSink; flushIntervalMs?: number; nodeId: string },
  logger: Logger,
) {
  return createStatusTracker(
    options.sink ?? (async () => {}),
    { flushIntervalMs: options.flushIntervalMs ?? 1000, nodeId: options.nodeId },
    logger,
  );
}

export type Presence = ReturnType<typeof createPresence>;

export function installPresence(ctx: BrokerContext, presence: Presence, publish: Publish): void {
  const { aedes, logger } = ctx;
  const publishStatus = (deviceId: string, online: boolean) => {
    const message: DeviceStatusMessage = { online, ts: Date.now() };
    publish(deviceTopic(deviceId, 'status'), JSON.stringify(message), 1, true).catch(
      (err: unknown) => logger.debug({ err, deviceId }, 'status not published'),
    );
  };
  aedes.on('client', (client) => {
    const device = ctx.deviceOf.get(client);
    if (!device) return;
    const info = infoOf(ctx, client);
    presence.connected(device.id, info.address, info.protocol);
    publishStatus(device.id, true);
  });
  aedes.on('clientDisconnect', (client) => {
    const device = ctx.deviceOf.get(client);
    if (!device) return;
    if (presence.disconnected(device.id) && !aedes.closed) publishStatus(device.id, false);
  });
}
