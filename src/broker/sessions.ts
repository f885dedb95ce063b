import type { Client } from 'aedes';
import type { DeviceIdentity } from '../db/index.js';
import type { BrokerContext } from './context.js';

/**
 * The sessions of each device on this node, so a registry change that ends
 * them (disabled, re-keyed) closes them; a device that reconnects with the
 * same client id takes its session over (Aedes closes the older connection).
 */
export function createSessions(ctx: BrokerContext) {
  const { aedes, logger } = ctx;
  const clientsOf = new Map<string, Set<Client>>();
  aedes.on('client', (client) => {
    const device = ctx.deviceOf.get(client);
    if (!device) return;
    let set = clientsOf.get(device.id);
    if (!set) clientsOf.set(device.id, (set = new Set()));
    set.add(client);
  });
  aedes.on('clientDisconnect', (client) => {
    const device = ctx.deviceOf.get(client);
    if (!device) return;
    const set = clientsOf.get(device.id);
    set?.delete(client);
    if (set?.size === 0) clientsOf.delete(device.id);
  });
  return {
    /** Closes the device's sessions when the change from `before` ends them. */
    applyChange(before: DeviceIdentity | undefined, device: DeviceIdentity): void {
      const ends =
        !device.enabled || (before !== undefined && before.secretHash !== device.secretHash);
      if (!ends) return;
      for (const client of clientsOf.get(device.id) ?? []) {
        logger.info(
          { deviceId: device.id },
          'closing the session of a disabled or re-keyed device',
        );
        client.close();
      }
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;
