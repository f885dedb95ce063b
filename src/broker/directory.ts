import type { Logger } from 'pino';
import type { DeviceIdentity } from '../db/index.js';
import type { Sessions } from './sessions.js';

/** The broker's view of the device registry; the hub keeps it current (no restart). */
export interface DeviceDirectory {
  get(id: string): DeviceIdentity | undefined;
  set(id: string, device: DeviceIdentity): unknown;
}

/** Aedes' emitter (mqemitter, or the cluster emitter over Redis); untyped in aedes' declarations. */
export interface MessageEmitter {
  on(
    topic: string,
    listener: (packet: { payload: Buffer | string }, cb: () => void) => void,
    done: () => void,
  ): void;
  emit(packet: { topic: string; payload: string }, done: () => void): void;
}

/** Internal control channel between broker nodes; no client may subscribe to `$` topics. */
const controlTopic = '$HUB/control/directory';

/**
 * The device cache of every node, kept in step through the MQTT emitter (so
 * across a Redis cluster too): a registry change applied on one node reaches
 * every node's directory and closes the sessions it ends, wherever they are.
 */
export async function replicateDirectory(
  directory: DeviceDirectory,
  sessions: Sessions,
  mq: MessageEmitter,
  logger: Logger,
) {
  function applyLocally(device: DeviceIdentity): void {
    const before = directory.get(device.id);
    directory.set(device.id, device);
    sessions.applyChange(before, device);
  }
  await new Promise<void>((resolve) =>
    mq.on(
      controlTopic,
      (packet, cb) => {
        try {
          applyLocally(JSON.parse(packet.payload.toString()) as DeviceIdentity);
        } catch (err) {
          logger.warn({ err }, 'bad directory control message');
        }
        cb();
      },
      () => resolve(),
    ),
  );
  return {
    /** A registry change, applied on every node (disable/re-key disconnects the device). */
    applyDevice(device: DeviceIdentity): Promise<void> {
      applyLocally(device);
      return new Promise<void>((resolve) =>
        mq.emit({ topic: controlTopic, payload: JSON.stringify(device) }, () => resolve()),
      );
    },
  };
}
