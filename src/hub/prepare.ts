import type { Logger } from 'pino';
import {
  applyStoragePolicies,
  ensureAdminUser,
  insertMissingRules,
  seedCaseWorkflow,
  seedDemoCityIfEmpty,
  upgradePackRules,
  type DatabaseCapabilities,
  type DemoCredential,
  type Pool,
} from '../db/index.js';
import { rulePackFor } from '../rules/index.js';
import type { HubConfig } from './config.js';

/**
 * Makes the database ready before any room starts (migrations already ran in
 * openDatabase): storage policies, the default rule pack, the demo city, the
 * case workflow tables and the first admin. Each step is idempotent, so every
 * node of a cluster may run it at start.
 */
export async function prepareDatabase(
  pool: Pool,
  capabilities: DatabaseCapabilities,
  config: HubConfig,
  logger: Logger,
  options: { clustered: boolean },
): Promise<{ demoCredentials: DemoCredential[] | null; adminCreated: string | null }> {
  if (!options.clustered) return prepareSteps(pool, capabilities, config, logger);
  // Processes of a cluster start together: one prepares while the others wait, then find it done.
  const lock = await pool.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [prepareLockKey]);
    return await prepareSteps(pool, capabilities, config, logger);
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [prepareLockKey]).catch(() => {});
    lock.release();
  }
}

const prepareLockKey = 0x48_55_42_70;

async function prepareSteps(
  pool: Pool,
  capabilities: DatabaseCapabilities,
  config: HubConfig,
  logger: Logger,
): Promise<{ demoCredentials: DemoCredential[] | null; adminCreated: string | null }> {
  const dbLogger = logger.child({ room: 'db' });
  await applyStoragePolicies(pool, capabilities, storagePolicyOf(config), dbLogger);
  const rulePack = rulePackFor(config.cityTimezone);
  await insertMissingRules(pool, rulePack);
  const pack = await upgradePackRules(pool, rulePack);
  if (pack.upgraded.length > 0)
    dbLogger.info({ rules: pack.upgraded }, 'default rules upgraded to the new pack');
  if (pack.kept.length > 0)
    dbLogger.warn(
      { rules: pack.kept },
      'edited default rules kept; a newer default is offered in GET /api/rules packUpdate',
    );
  const demoCredentials = config.demoCity
    ? await seedDemoCityIfEmpty(pool, {
        dataDir: config.dataDir,
        deviceCount: config.demoDeviceCount,
        logger: dbLogger,
      })
    : null;
  // Cases workflow (issue #5): deadlines, demo routing table, the first admin.
  await seedCaseWorkflow(pool);
  const adminCreated = await ensureAdminUser(pool, config.dataDir);
  if (adminCreated) logger.info({ file: adminCreated }, 'admin user created');
  return { demoCredentials, adminCreated };
}

export const storagePolicyOf = (config: HubConfig) => ({
  compressAfterDays: config.storageCompressAfterDays,
  retentionDays: config.storageRetentionDays,
});
