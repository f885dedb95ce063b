import { HubError } from '../domain/index.js';
import type { HubConfig, HubRole } from './config.js';

/*
 * The decisions a process's role makes (docs/deploy.md). What each role runs
 * is its assembly in hub.ts; these are the decisions the parts share.
 */

/** A process is one of several when it shares Redis, or runs one part alone. */
export const isClustered = (config: Pick<HubConfig, 'redisUrl' | 'role'>): boolean =>
  config.redisUrl !== '' || config.role !== 'all';

/** Roles that run the exactly-one-node duties, and so may lead (decision 0110). */
export const mayLead = (role: HubRole): boolean => role === 'all' || role === 'worker';

/** A role other than `all` shares one PostgreSQL and one Redis with the others. */
export function checkRole(config: HubConfig): void {
  if (config.role === 'all') return;
  const missing = [
    config.databaseUrl ? null : 'DATABASE_URL (one PostgreSQL for every process)',
    config.redisUrl ? null : 'REDIS_URL (MQTT fan-out between the processes)',
  ].filter(Boolean);
  if (missing.length > 0) {
    throw new HubError('HUB_ERR_CONFIG', `role ${config.role} needs ${missing.join(' and ')}`);
  }
}
