import type { FastifyInstance } from 'fastify';
import type { CaseService } from '../cases/index.js';
import {
  deleteCalendarDay,
  listCalendarDays,
  putCalendarDays,
  type CalendarDay,
  type Queryable,
} from '../db/index.js';
import { HubError, workingDayMinutes } from '../domain/index.js';
import { anyUser, requireRole } from './auth.js';

export interface CalendarRouteDeps {
  readonly db: Queryable;
  readonly cases: CaseService;
}

const datePattern = '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$';
const hhmm = (m: number) =>
  `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

/** A date the pattern lets through but the calendar does not have (2026-02-30). */
function realDate(date: string): boolean {
  return new Date(date + 'T00:00:00Z').toISOString().slice(0, 10) === date;
}

/** The working calendar of working-time deadlines (docs/cases.md, "Working time"; decision 0108). */
export function registerCalendarRoutes(api: FastifyInstance, deps: CalendarRouteDeps): void {
  const { db, cases } = deps;

  api.get<{ Querystring: { from?: string; to?: string } }>(
    '/calendar',
    {
      ...anyUser,
      schema: {
        tags: ['calendar'],
        summary: 'Working hours, time zone, holidays and make-up working days (调休)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            from: { type: 'string', pattern: datePattern },
            to: { type: 'string', pattern: datePattern },
          },
        },
      },
    },
    async (req) => {
      const cal = await cases.calendar();
      return {
        timeZone: cal.timeZone,
        workingHours: cal.periods.map((p) => ({ start: hhmm(p.start), end: hhmm(p.end) })),
        workingDayMinutes: workingDayMinutes(cal),
        days: await listCalendarDays(db, req.query),
      };
    },
  );

  api.put<{ Body: { days: CalendarDay[] } }>(
    '/calendar/days',
    {
      ...requireRole('admin'),
      schema: {
        tags: ['calendar'],
        summary: 'Add or replace holidays and make-up working days',
        body: {
          type: 'object',
          required: ['days'],
          additionalProperties: false,
          properties: {
            days: {
              type: 'array',
              minItems: 1,
              maxItems: 1000,
              items: {
                type: 'object',
                required: ['date', 'kind'],
                additionalProperties: false,
                properties: {
                  date: { type: 'string', pattern: datePattern },
                  kind: { enum: ['holiday', 'workday'] },
                  name: { type: 'string', maxLength: 100, default: '' },
                },
              },
            },
          },
        },
      },
    },
    async (req) => {
      const bad = req.body.days.find((d) => !realDate(d.date));
      if (bad) throw new HubError('HUB_ERR_BAD_REQUEST', `${bad.date} is not a date`);
      // One row per date: the upsert would refuse a date given twice with a 500.
      const twice = req.body.days.find((d, i, all) => all.findIndex((e) => e.date === d.date) < i);
      if (twice) throw new HubError('HUB_ERR_BAD_REQUEST', `${twice.date} is given twice`);
      await putCalendarDays(db, req.body.days);
      cases.reloadCalendar();
      return { days: await listCalendarDays(db) };
    },
  );

  api.delete<{ Params: { date: string } }>(
    '/calendar/days/:date',
    {
      ...requireRole('admin'),
      schema: {
        tags: ['calendar'],
        summary: 'Make a day ordinary again',
        params: {
          type: 'object',
          required: ['date'],
          properties: { date: { type: 'string', pattern: datePattern } },
        },
      },
    },
    async (req, reply) => {
      if (!(await deleteCalendarDay(db, req.params.date))) {
        throw new HubError('HUB_ERR_NOT_FOUND', `${req.params.date} is an ordinary day`);
      }
      cases.reloadCalendar();
      return reply.status(204).send();
    },
  );
}
