import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Server as SocketServer } from 'socket.io';
import {
  createFieldReportService,
  createPatrolService,
  defaultFieldReportOptions,
  type CaseService,
  type FieldReportOptions,
  type FieldReportService,
  type PatrolService,
} from '../cases/index.js';
import type { Queryable } from '../db/index.js';
import { areaAt, type ClientToServerEvents, type ServerToClientEvents } from '../domain/index.js';
import { registerCaseExportRoutes } from './case-export-routes.js';
import { registerFieldReportRoutes } from './field-report-routes.js';
import { areaRoom, cityRoom, userRoom } from './live.js';
import { registerPatrolRoutes } from './patrol-routes.js';
import { registerPublicRoutes } from './public-routes.js';

/** Settings of grid officers and the public channel (config.ts; docs/api.md). */
export interface GridSettings extends Partial<Omit<FieldReportOptions, 'dataDir'>> {
  /** PATROL_GAP_SECONDS (default 120). */
  readonly patrolGapSeconds?: number;
  /** PUBLIC_REPORTS_PER_MINUTE (default 10). */
  readonly publicReportsPerMinute?: number;
}

export interface GridParts {
  readonly db: Queryable;
  readonly timeZone: string;
  readonly fieldReports: FieldReportService;
  readonly patrols: PatrolService;
  readonly publicReportsPerMinute: number;
}

/** The services of issue #16, once per dashboard. */
export function createGridParts(deps: {
  readonly db: Queryable;
  readonly cases: CaseService;
  readonly logger: Logger;
  readonly dataDir: string;
  readonly settings?: GridSettings;
}): GridParts {
  const s = deps.settings ?? {};
  const options: FieldReportOptions = {
    acceptMinutes: s.acceptMinutes ?? defaultFieldReportOptions.acceptMinutes,
    duplicateMeters: s.duplicateMeters ?? defaultFieldReportOptions.duplicateMeters,
    duplicateHours: s.duplicateHours ?? defaultFieldReportOptions.duplicateHours,
    verifyBy: s.verifyBy ?? defaultFieldReportOptions.verifyBy,
    verifyMinutes: s.verifyMinutes ?? defaultFieldReportOptions.verifyMinutes,
    dataDir: deps.dataDir,
  };
  return {
    db: deps.db,
    timeZone: deps.cases.timeZone,
    fieldReports: createFieldReportService({
      pool: deps.db,
      cases: deps.cases,
      logger: deps.logger.child({ room: 'cases' }),
      options,
    }),
    patrols: createPatrolService({
      pool: deps.db,
      now: () => deps.cases.now(),
      gapSeconds: s.patrolGapSeconds ?? 120,
    }),
    publicReportsPerMinute: s.publicReportsPerMinute ?? 10,
  };
}

/** Field reports, patrols, verification and the public channel under `/api`. */
export function registerGridRoutes(
  api: FastifyInstance,
  grid: GridParts,
  metricsRegistry?: Registry,
): void {
  registerFieldReportRoutes(api, grid);
  registerPatrolRoutes(api, grid);
  registerCaseExportRoutes(api, grid);
  registerPublicRoutes(api, {
    fieldReports: grid.fieldReports,
    perMinute: grid.publicReportsPerMinute,
    ...(metricsRegistry ? { metricsRegistry } : {}),
  });
}

/**
 * Report changes to the control room (the city room and the rooms of every
 * area holding the report's grid) and to the reporting inspector; verification
 * requests to the inspectors of the grid. This node's changes only: in a
 * cluster, a screen on another node sees them on its next list (docs/api.md).
 */
export function attachGridLive(
  io: SocketServer<ClientToServerEvents, ServerToClientEvents>,
  grid: GridParts,
): void {
  grid.fieldReports.onEvent((e) => {
    if (e.type === 'verification') {
      io.to(e.userIds.map(userRoom)).emit('verification:requested', e.request);
      return;
    }
    const r = e.change.report;
    const rooms = [cityRoom];
    if (r.gridCode) {
      for (const level of ['district', 'street', 'community', 'grid'] as const) {
        const code = areaAt(r.gridCode, level);
        if (code) rooms.push(areaRoom(code));
      }
    }
    if (r.reporterId !== null) rooms.push(userRoom(r.reporterId));
    io.to(rooms).emit('fieldReport:changed', e.change);
  });
}
