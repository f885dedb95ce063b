import type { FastifyInstance } from 'fastify';
import { queryBuckets, queryLatest, type Queryable } from '../db/index.js';
import { HubError, facilityTypes } from '../domain/index.js';
import type { ReplayOutcome } from '../ingest/index.js';
import { requireRole } from './auth.js';
import { parseTime } from './query.js';

export interface StorageApiDeps {
  readonly db: Queryable;
  readonly replayDeadLetters: (ids: readonly number[]) => Promise<ReplayOutcome[]>;
}

/** Bucket sizes the API serves, all multiples of the 5-minute rollup. */
const buckets: Record<string, number> = {
  '5m': 300,
  '15m': 900,
  '1h': 3600,
  '6h': 21600,
  '1d': 86400,
};

/** Telemetry over time and space, latest values, dead-letter replay: docs/api.md. */
export function registerStorageRoutes(api: FastifyInstance, deps: StorageApiDeps): void {
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
      const series = await queryBuckets(deps.db, {
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
      latest: await queryLatest(deps.db, {
        deviceIds: req.query.deviceId?.split(','),
        gridPrefix: req.query.grid,
        type: req.query.type,
        limit: req.query.limit,
      }),
    }),
  );

  api.post<{ Body: { ids: number[] } }>(
    '/dead-letters/replay',
    {
      // Replaying writes readings: operators and admins, who fix device configuration.
      ...requireRole('operator'),
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['ids'],
          properties: {
            ids: {
              type: 'array',
              minItems: 1,
              maxItems: 10000,
              items: { type: 'integer', minimum: 1 },
            },
          },
        },
      },
    },
    async (req) => ({ outcomes: await deps.replayDeadLetters(req.body.ids) }),
  );
}
