import type { FastifyInstance } from 'fastify';
import {
  getDevice,
  queryBuckets,
  queryLatest,
  queryReadings,
  type Queryable,
} from '../db/index.js';
import { HubError, facilityTypes } from '../domain/index.js';
import { anyUser } from './auth.js';
import { parseTime } from './query.js';

export interface TelemetryRouteDeps {
  readonly db: Queryable;
}

/** Bucket sizes the API serves, all multiples of the 5-minute rollup. */
const buckets: Record<string, number> = {
  '5m': 300,
  '15m': 900,
  '1h': 3600,
  '6h': 21600,
  '1d': 86400,
};

/** Readings: one device's raw readings, buckets over time and space, latest values (docs/api.md). */
export function registerTelemetryRoutes(api: FastifyInstance, deps: TelemetryRouteDeps): void {
  const { db } = deps;

  api.get<{
    Params: { deviceId: string };
    Querystring: { from?: string; to?: string; limit: number };
  }>(
    '/telemetry/:deviceId',
    {
      ...anyUser,
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
      grid?: string;
      type?: string;
      metric?: string;
      from?: string;
      to?: string;
      bucket: string;
      limit: number;
    };
  }>(
    '/telemetry',
    {
      ...anyUser,
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['bucket'],
          properties: {
            deviceId: { type: 'string' },
            grid: { type: 'string', pattern: '^\\d{1,15}$' },
            type: { enum: [...facilityTypes] },
            metric: { type: 'string', maxLength: 64 },
            from: { type: 'string' },
            to: { type: 'string' },
            bucket: { enum: Object.keys(buckets) },
            limit: { type: 'integer', minimum: 1, maximum: 50000, default: 10000 },
          },
        },
      },
    },
    async (req) => {
      const q = req.query;
      if (!q.deviceId && !q.grid && !q.type) {
        throw new HubError(
          'HUB_ERR_BAD_REQUEST',
          'name a deviceId, a grid (code prefix) or a type',
        );
      }
      const toMs = parseTime(q.to, 'to', Date.now());
      const fromMs = parseTime(q.from, 'from', toMs - 24 * 3600_000);
      if (fromMs > toMs) throw new HubError('HUB_ERR_BAD_REQUEST', 'from must not be after to');
      const series = await queryBuckets(db, {
        deviceId: q.deviceId,
        gridPrefix: q.grid,
        type: q.type,
        metric: q.metric,
        fromMs,
        toMs,
        bucketS: buckets[q.bucket]!,
        limit: q.limit,
      });
      return {
        from: new Date(fromMs).toISOString(),
        to: new Date(toMs).toISOString(),
        bucket: q.bucket,
        series,
      };
    },
  );

  api.get<{ Querystring: { deviceId?: string; grid?: string; type?: string; limit: number } }>(
    '/latest',
    {
      ...anyUser,
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            deviceId: { type: 'string', description: 'one id or several, comma-separated' },
            grid: { type: 'string', pattern: '^\\d{1,15}$' },
            type: { enum: [...facilityTypes] },
            limit: { type: 'integer', minimum: 1, maximum: 100000, default: 10000 },
          },
        },
      },
    },
    async (req) => ({
      latest: await queryLatest(db, {
        deviceIds: req.query.deviceId?.split(','),
        gridPrefix: req.query.grid,
        type: req.query.type,
        limit: req.query.limit,
      }),
    }),
  );
}
