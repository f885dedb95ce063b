import type { FastifyInstance } from 'fastify';
import type { PatrolService } from '../cases/index.js';
import { requireRole, requestActor } from './auth.js';
import { idParams } from './query.js';

export interface PatrolRouteDeps {
  readonly patrols: PatrolService;
}

/** Inspectors' patrols with their GPS tracks (issue #16; docs/api.md "Patrols"). */
export function registerPatrolRoutes(api: FastifyInstance, deps: PatrolRouteDeps): void {
  const { patrols } = deps;

  api.post(
    '/patrols',
    { ...requireRole('inspector'), schema: { tags: ['patrols'] } },
    async (req, reply) => reply.status(201).send(await patrols.start(requestActor(req))),
  );

  api.post<{
    Params: { id: number };
    Body: { points: { at: string; lat: number; lon: number; accuracy?: number }[] };
  }>(
    '/patrols/:id/points',
    {
      ...requireRole('inspector'),
      schema: {
        tags: ['patrols'],
        params: idParams,
        body: {
          type: 'object',
          required: ['points'],
          additionalProperties: false,
          properties: {
            points: {
              type: 'array',
              minItems: 1,
              maxItems: 500,
              items: {
                type: 'object',
                required: ['at', 'lat', 'lon'],
                additionalProperties: false,
                properties: {
                  at: { type: 'string', format: 'date-time' },
                  lat: { type: 'number', minimum: -90, maximum: 90 },
                  lon: { type: 'number', minimum: -180, maximum: 180 },
                  accuracy: { type: 'number', minimum: 0, maximum: 100000 },
                },
              },
            },
          },
        },
      },
    },
    async (req) =>
      patrols.addPoints(
        requestActor(req),
        req.params.id,
        req.body.points.map((p) => ({
          at: new Date(p.at).toISOString(),
          lat: p.lat,
          lon: p.lon,
          accuracyM: p.accuracy ?? null,
        })),
      ),
  );

  api.post<{ Params: { id: number } }>(
    '/patrols/:id/end',
    { ...requireRole('inspector'), schema: { tags: ['patrols'], params: idParams } },
    async (req) => patrols.end(requestActor(req), req.params.id),
  );

  api.get<{ Querystring: { mine?: boolean; inspectorId?: number; limit: number } }>(
    '/patrols',
    {
      ...requireRole('inspector', 'operator', 'supervisor', 'viewer'),
      schema: {
        tags: ['patrols'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            mine: { type: 'boolean' },
            inspectorId: { type: 'integer', minimum: 1 },
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
          },
        },
      },
    },
    async (req) => ({ patrols: await patrols.list(requestActor(req), req.query) }),
  );

  api.get<{ Params: { id: number } }>(
    '/patrols/:id',
    {
      ...requireRole('inspector', 'operator', 'supervisor', 'viewer'),
      schema: { tags: ['patrols'], params: idParams },
    },
    async (req) => patrols.get(requestActor(req), req.params.id),
  );
}
