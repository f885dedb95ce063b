import type { Duplex } from 'node:stream';
import type { Aedes, Client } from 'aedes';
import type { Logger } from 'pino';
import type { DeviceIdentity } from '../db/index.js';
import type { Protocol } from './listeners.js';
import type { BrokerMetrics } from './metrics.js';

/** Where a connection came from, noted by the listener before Aedes sees it. */
export interface ConnInfo {
  readonly protocol: Protocol;
  readonly address: string;
}

/** What the broker counts for /api/health. */
export interface BrokerCounters {
  /** Open connections of this node (a getter over Aedes' count). */
  readonly connections: number;
  /** Connections accepted since start. */
  connects: number;
  authFailures: number;
  aclDenials: number;
  oversize: number;
  /** Publishes held over the device's rate (slowed, not dropped). */
  rateLimited: number;
  /** Devices cut off after being held over their rate for longer than the bound. */
  rateCutOffs: number;
  throttledConnects: number;
  protocolRefusals: number;
  /** Legacy (scrypt) device hashes replaced by the fast form on a good CONNECT (decision 0135). */
  secretUpgrades: number;
  /** Warning lines about refused packets left out by the per-client limit (warn-limit.ts). */
  suppressedWarnings: number;
}

/**
 * What the broker's parts share about the connections of this node:
 * authentication fills `deviceOf` and `services`, authorisation, presence
 * and sessions read them.
 */
export interface BrokerContext {
  readonly aedes: Aedes;
  readonly logger: Logger;
  readonly metrics: BrokerMetrics;
  readonly counters: BrokerCounters;
  readonly deviceOf: WeakMap<Client, DeviceIdentity>;
  readonly services: WeakSet<Client>;
  readonly connInfo: WeakMap<Duplex, ConnInfo>;
}

export function infoOf(ctx: BrokerContext, client: Client): ConnInfo {
  return ctx.connInfo.get(client.conn as unknown as Duplex) ?? { protocol: 'mqtt', address: '' };
}
