import type { FastifyInstance, FastifyRequest } from 'fastify';
import { getAlarm, listAlarms, type Queryable } from '../db/index.js';
import { HubError, alarmHandlerRoles, caseScopeOf } from '../domain/index.js';
import type { AlarmDesk } from '../rules/index.js';
import { anyUser, requestActor, requireRole } from './auth.js';
import { page, idParams } from './query.js';

export interface AlarmRouteDeps {
  readonly db: Queryable;
  readonly alarmDesk: AlarmDesk;
}

const comment = { type: 'string', maxLength: 500 } as const;

/** The logged-in user: who acknowledged or shelved is never a name the client sends. */
function who(req: FastifyRequest): string {
  if (!req.user) throw new HubError('HUB_ERR_UNAUTHENTICATED');
  return req.user.username;
}
const trimmed = (s: string | undefined) => (s?.trim() ? s.trim() : null);

/** An area user acts only on alarms inside its area (a city-level alarm is in none). */
async function checkScope(db: Queryable, req: FastifyRequest, id: number): Promise<void> {
  const { area } = caseScopeOf(requestActor(req));
  if (area === null) return;
  const alarm = await getAlarm(db, id);
  if (!alarm) throw new HubError('HUB_ERR_ALARM_UNKNOWN', String(id));
  if (!alarm.gridCode?.startsWith(area)) {
    throw new HubError('HUB_ERR_OUT_OF_AREA', `alarm ${id} is outside ${area}`);
  }
}

/** The alarms; acknowledge, shelve and unshelve one (issue #13; docs/api.md). Audited as every change. */
export function registerAlarmRoutes(api: FastifyInstance, deps: AlarmRouteDeps): void {
  const { db, alarmDesk: desk } = deps;
  const guard = requireRole(...alarmHandlerRoles);

  api.get<{ Querystring: { state?: string; limit: number } }>(
    '/alarms',
    {
      ...anyUser,
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { state: { enum: ['open', 'cleared'] }, limit: page.limit },
        },
      },
    },
    async (req) => {
      // The scope of the live feed (live.ts): an area user its area, a crew none (its work is cases).
      const actor = requestActor(req);
      if (actor.role === 'crew') return { alarms: [] };
      return { alarms: await listAlarms(db, { ...req.query, area: caseScopeOf(actor).area }) };
    },
  );

  api.post<{ Params: { id: number }; Body: { comment?: string } | undefined }>(
    '/alarms/:id/ack',
    {
      ...guard,
      schema: {
        tags: ['alarms'],
        params: idParams,
        body: { type: ['object', 'null'], additionalProperties: false, properties: { comment } },
      },
    },
    async (req) => {
      await checkScope(db, req, req.params.id);
      return desk.acknowledge(req.params.id, who(req), trimmed(req.body?.comment));
    },
  );

  api.post<{
    Params: { id: number };
    Body: { minutes?: number; until?: string; comment?: string };
  }>(
    '/alarms/:id/shelve',
    {
      ...guard,
      schema: {
        tags: ['alarms'],
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          oneOf: [{ required: ['minutes'] }, { required: ['until'] }],
          properties: {
            minutes: { type: 'integer', minimum: 1, maximum: 7 * 24 * 60 },
            until: { type: 'string', format: 'date-time' },
            comment,
          },
        },
      },
    },
    async (req) => {
      await checkScope(db, req, req.params.id);
      const { minutes, until } = req.body;
      const when = minutes !== undefined ? { minutes } : { untilMs: Date.parse(until!) };
      return desk.shelve(req.params.id, who(req), when, trimmed(req.body.comment));
    },
  );

  api.post<{ Params: { id: number } }>(
    '/alarms/:id/unshelve',
    { ...guard, schema: { tags: ['alarms'], params: idParams } },
    async (req) => {
      await checkScope(db, req, req.params.id);
      return desk.unshelve(req.params.id, who(req));
    },
  );
}
