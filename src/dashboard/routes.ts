import type { FastifyInstance } from 'fastify';
import {
  getDevice,
  getDeviceStatuses,
  listAlarms,
  listDeadLetters,
  listDevices,
  listPackUpdates,
  listRules,
  queryReadings,
  type Queryable,
} from '../db/index.js';
import { HubError, facilityTypes } from '../domain/index.js';
import { parseTime } from './query.js';

export interface ApiDeps {
  readonly db: Queryable;
  readonly health: () => Record<string, unknown>;
  readonly isOnline: (deviceId: string) => boolean;
}

const page = {
  limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
  offset: { type: 'integer', minimum: 0, default: 0 },
} as const;

/** REST contract: docs/api.md. */
export function registerApiRoutes(api: FastifyInstance, deps: ApiDeps): void {
  const { db } = deps;

  api.get('/health', { config: { public: true } }, async () => deps.health());

  api.get<{ Querystring: { type?: string; grid?: string; limit: number; offset: number } }>(
    '/devices',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            type: { enum: [...facilityTypes] },
            grid: { type: 'string', pattern: '^\\d{1,15}$' },
            ...page,
          },
        },
      },
    },
    async (req) => {
      const { total, devices } = await listDevices(db, {
        type: req.query.type,
        gridCode: req.query.grid,
        limit: req.query.limit,
        offset: req.query.offset,
      });
      // Status record of #6: online, last seen, address, protocol (null: never connected).
      const statuses = await getDeviceStatuses(
        db,
        devices.map((d) => d.id),
      );
      return {
        total,
        devices: devices.map((d) => {
          const status = statuses.get(d.id) ?? null;
          // This node's live view, or what another node of a cluster last recorded.
          return { ...d, online: deps.isOnline(d.id) || status?.online === true, status };
        }),
      };
    },
  );

  api.get<{ Params: { id: string } }>('/devices/:id', async (req) => {
    const device = await getDevice(db, req.params.id);
    if (!device) throw new HubError('HUB_ERR_DEVICE_UNKNOWN', req.params.id);
    const status = (await getDeviceStatuses(db, [device.id])).get(device.id) ?? null;
    return { ...device, online: deps.isOnline(device.id) || status?.online === true, status };
  });

  // GET /cases lives in case-routes.ts (filters, crew scope; issue #5).

  api.get<{ Querystring: { state?: string; limit: number } }>(
    '/alarms',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { state: { enum: ['open', 'cleared'] }, limit: page.limit },
        },
      },
    },
    async (req) => ({ alarms: await listAlarms(db, req.query) }),
  );

  api.get('/rules', async () => {
    const updates = await listPackUpdates(db);
    // A newer default the city's edit kept out (pack upgrades, docs/rules.md).
    const rules = (await listRules(db)).map((r) => {
      const packUpdate = updates.get(r.id);
      return packUpdate ? { ...r, packUpdate } : r;
    });
    return { rules };
  });

  api.get<{
    Params: { deviceId: string };
    Querystring: { from?: string; to?: string; limit: number };
  }>(
    '/telemetry/:deviceId',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            from: { type: 'string' },
            to: { type: 'string' },
            limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 },
          },
        },
      },
    },
    async (req) => {
      const device = await getDevice(db, req.params.deviceId);
      if (!device) throw new HubError('HUB_ERR_DEVICE_UNKNOWN', req.params.deviceId);
      const toMs = parseTime(req.query.to, 'to', Date.now());
      const fromMs = parseTime(req.query.from, 'from', toMs - 24 * 3600_000);
      if (fromMs > toMs) throw new HubError('HUB_ERR_BAD_REQUEST', 'from must not be after to');
      const readings = await queryReadings(db, {
        deviceId: device.id,
        fromMs,
        toMs,
        limit: req.query.limit,
      });
      return {
        deviceId: device.id,
        type: device.type,
        from: new Date(fromMs).toISOString(),
        to: new Date(toMs).toISOString(),
        readings,
      };
    },
  );

  api.get<{
    Querystring: {
      deviceId?: string;
      code?: string;
      since?: string;
      replayed?: boolean;
      limit: number;
    };
  }>(
    '/dead-letters',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            deviceId: { type: 'string' },
            code: { type: 'string' },
            since: { type: 'string' },
            replayed: { type: 'boolean' },
            limit: page.limit,
          },
        },
      },
    },
    async (req) => {
      const { since, ...rest } = req.query;
      const sinceMs = since === undefined ? undefined : parseTime(since, 'since', 0);
      return { deadLetters: await listDeadLetters(db, { ...rest, sinceMs }) };
    },
  );
}
