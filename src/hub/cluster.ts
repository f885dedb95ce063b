import type { Logger } from 'pino';
import type { CaseService, WebhookService } from '../cases/index.js';
import { maintainStorage, type DatabaseCapabilities, type Pool } from '../db/index.js';
import type { HubConfig } from './config.js';
import { storagePolicyOf } from './prepare.js';

/**
 * The time-driven duties of the hub: storage maintenance (partitions,
 * retention), case deadlines and escalation, and the pickup of webhook
 * deliveries a previous run left pending.
 */
export function startDuties(
  deps: {
    pool: Pool;
    capabilities: DatabaseCapabilities;
    cases: CaseService;
    webhooks: WebhookService;
  },
  config: HubConfig,
  logger: Logger,
) {
  const dbLogger = logger.child({ room: 'db' });
  const maintenance = setInterval(() => {
    maintainStorage(
      deps.pool,
      deps.capabilities,
      storagePolicyOf(config),
      Date.now(),
      dbLogger,
    ).catch((err: unknown) => dbLogger.warn({ err }, 'storage maintenance failed'));
  }, 3_600_000).unref();
  deps.webhooks.resumePending();
  const caseTicker = setInterval(
    () => void deps.cases.tick().catch((err: unknown) => logger.error({ err }, 'case tick failed')),
    config.caseTickIntervalMs,
  ).unref();
  return {
    async stop(): Promise<void> {
      clearInterval(maintenance);
      clearInterval(caseTicker);
    },
  };
}
