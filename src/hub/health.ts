import type { Broker, CommandService } from '../broker/index.js';
import type { Ingest } from '../ingest/index.js';
import type { AlarmService } from '../rules/index.js';
import type { Core } from './core.js';

/** The parts of this process `GET /api/health` reports on; absent where the role runs none. */
export interface HealthParts {
  readonly ingest?: Ingest;
  readonly gateway?: { readonly broker: Broker; readonly commands: CommandService };
  readonly alarms?: AlarmService;
}

/**
 * `GET /api/health` of this process: `degraded` while storage has problems
 * (issue 11), its role and leadership, and the counters of the parts it runs.
 */
export function healthOf(core: Core, { ingest, gateway, alarms }: HealthParts) {
  const { nodeId, leadership, clustered, db, directory } = core;
  const { role } = core.config;
  return () => {
    const problems = ingest?.storageProblems() ?? [];
    return {
      status: problems.length > 0 ? 'degraded' : 'ok',
      ...(ingest
        ? {
            storage: {
              problems,
              quarantine: {
                dir: ingest.quarantine.dir,
                files: ingest.quarantine.files() ?? 0,
                ...ingest.quarantine.counters,
              },
            },
          }
        : {}),
      node: { id: nodeId, role, leader: leadership.isLeader(), clustered },
      uptimeS: Math.round((Date.now() - core.startedAt) / 1000),
      database: db.capabilities,
      devices: { registered: directory.size, online: gateway?.broker.onlineCount() ?? 0 },
      ...(gateway
        ? {
            broker: {
              ...gateway.broker.counters,
              ports: gateway.broker.ports,
              commands: gateway.commands.counters,
            },
          }
        : {}),
      ...(ingest
        ? {
            ingest: {
              ...ingest.counters,
              ...ingest.writer.counters,
              pendingRows: ingest.writer.pendingRows(),
            },
          }
        : {}),
      ...(alarms ? { alarms: alarms.counters } : {}),
    };
  };
}

export type Health = ReturnType<typeof healthOf>;
