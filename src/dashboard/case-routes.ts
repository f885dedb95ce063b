import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  availableActions,
  caseActions,
  transitions,
  type CaseAction,
  type CaseService,
  type Role,
} from '../cases/index.js';
import {
  caseTimeline,
  getCasePhoto,
  insertCasePhoto,
  listCaseDetails,
  type Queryable,
} from '../db/index.js';
import {
  HubError,
  caseScopeOf,
  caseStates,
  categoryCodePattern,
  categoryFilterPattern,
  facilityTypes,
  gridCodePattern,
  severities,
  type CaseDetail,
} from '../domain/index.js';
import { anyUser, requireRole, type UserRole, requestActor } from './auth.js';
import { idParams } from './query.js';
import { createIdempotency } from './idempotency.js';
import { maxPhotoBytes, photoHeaders, photoTypeOf } from './photos.js';

export interface CaseRouteDeps {
  readonly db: Queryable;
  readonly cases: CaseService;
  /** Photos go under `<dataDir>/photos/<case id>/`. */
  readonly dataDir: string;
}

const staff: UserRole[] = ['operator', 'supervisor'];

/** Cases, actions and photos (KPIs: kpi-routes.ts) (docs/api.md, "Cases workflow"). */
export function registerCaseRoutes(api: FastifyInstance, deps: CaseRouteDeps): void {
  const { db, cases } = deps;
  // Case creation and actions may be retried by an offline phone or Node-RED (issue #13).
  const idempotency = createIdempotency(db);

  const visibleCase = (req: FastifyRequest, id: number): Promise<CaseDetail> =>
    cases.read(requestActor(req), id);

  // The transition table as data, for screens that draw the action buttons (docs/cases.md).
  api.get('/workflow', { ...anyUser, schema: { tags: ['cases'] } }, async () => ({ transitions }));

  api.get<{
    Querystring: {
      state?: string;
      severity?: string;
      facilityType?: string;
      area?: string;
      crewId?: string;
      departmentId?: string;
      overdue?: boolean;
      dispatchOverdue?: boolean;
      q?: string;
      categoryCode?: string;
      limit: number;
      offset: number;
    };
  }>(
    '/cases',
    {
      ...anyUser,
      schema: {
        tags: ['cases'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { enum: [...caseStates] },
            severity: { enum: [...severities] },
            facilityType: { enum: [...facilityTypes] },
            area: { type: 'string', pattern: '^\\d{1,15}$' },
            crewId: { type: 'string' },
            departmentId: { type: 'string' },
            overdue: { type: 'boolean' },
            dispatchOverdue: { type: 'boolean' },
            q: { type: 'string', maxLength: 100 },
            categoryCode: { type: 'string', pattern: categoryFilterPattern },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            offset: { type: 'integer', minimum: 0, default: 0 },
          },
        },
      },
    },
    async (req) => {
      // Crews see their own crew's cases only; an area-scoped user, its area's only (the query's scope).
      return listCaseDetails(db, req.query, caseScopeOf(requestActor(req)));
    },
  );

  api.post<{
    Body: {
      source: 'hotline' | 'inspection' | 'other';
      kind?: 'component' | 'event';
      severity: string;
      title: string;
      description?: string;
      facilityType?: string;
      deviceId?: string;
      gridCode?: string;
      location?: string;
      lat?: number;
      lon?: number;
      categoryCode?: string;
    };
  }>(
    '/cases',
    {
      ...requireRole(...staff),
      preHandler: idempotency.preHandler,
      onSend: idempotency.onSend,
      schema: {
        tags: ['cases'],
        body: {
          type: 'object',
          required: ['source', 'severity', 'title'],
          additionalProperties: false,
          properties: {
            source: { enum: ['hotline', 'inspection', 'other'] },
            kind: { enum: ['component', 'event'] },
            severity: { enum: [...severities] },
            title: { type: 'string', minLength: 1, maxLength: 200 },
            description: { type: 'string', maxLength: 2000 },
            facilityType: { enum: [...facilityTypes] },
            deviceId: { type: 'string' },
            gridCode: { type: 'string', pattern: gridCodePattern },
            location: { type: 'string', maxLength: 200 },
            lat: { type: 'number', minimum: -90, maximum: 90 },
            lon: { type: 'number', minimum: -180, maximum: 180 },
            categoryCode: { type: 'string', pattern: categoryCodePattern },
          },
        },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const created = await cases.createManual(requestActor(req), {
        source: b.source,
        kind: b.kind ?? (b.facilityType ? 'component' : 'event'),
        severity: b.severity,
        title: b.title,
        description: b.description ?? null,
        facilityType: b.facilityType ?? null,
        deviceId: b.deviceId ?? null,
        gridCode: b.gridCode ?? null,
        location: b.location ?? null,
        lat: b.lat ?? null,
        lon: b.lon ?? null,
        categoryCode: b.categoryCode ?? null,
      });
      return reply.status(201).send(created);
    },
  );

  api.get<{ Params: { id: number } }>(
    '/cases/:id',
    { ...anyUser, schema: { tags: ['cases'], params: idParams } },
    async (req) => {
      const c = await visibleCase(req, req.params.id);
      const role = req.user!.role as Role;
      return {
        case: c,
        timeline: await caseTimeline(db, c.id),
        actions: availableActions(c.state, role),
      };
    },
  );

  api.post<{
    Params: { id: number; action: CaseAction };
    Body: { note?: string; reason?: string; crewId?: string; hours?: number; photoIds?: number[] };
  }>(
    '/cases/:id/actions/:action',
    {
      // Which role may take which action is the transition table's (cases/workflow.ts).
      ...anyUser,
      preHandler: idempotency.preHandler,
      onSend: idempotency.onSend,
      schema: {
        tags: ['cases'],
        params: {
          type: 'object',
          required: ['id', 'action'],
          properties: { id: { type: 'integer', minimum: 1 }, action: { enum: [...caseActions] } },
        },
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            note: { type: 'string', maxLength: 2000 },
            reason: { type: 'string', maxLength: 500 },
            crewId: { type: 'string' },
            hours: { type: 'number', exclusiveMinimum: 0, maximum: 720 },
            photoIds: { type: 'array', maxItems: 20, items: { type: 'integer' } },
          },
        },
      },
    },
    async (req) => ({
      case: await cases.act(requestActor(req), req.params.id, req.params.action, req.body ?? {}),
    }),
  );

  api.post<{ Params: { id: number } }>(
    '/cases/:id/photos',
    {
      ...requireRole('crew', ...staff),
      schema: { tags: ['cases'], params: idParams },
    },
    async (req, reply) => {
      const c = await visibleCase(req, req.params.id);
      const file = await req.file();
      if (!file) throw new HubError('HUB_ERR_BAD_REQUEST', 'no file in the multipart body');
      const bytes = await file.toBuffer().catch((err: { code?: string }) => {
        if (err.code === 'FST_REQ_FILE_TOO_LARGE') {
          throw new HubError(
            'HUB_ERR_PAYLOAD_TOO_LARGE',
            `a photo is at most ${maxPhotoBytes} bytes`,
          );
        }
        throw err;
      });
      // The bytes decide, not the declared type: an HTML page declared image/png is refused.
      const type = photoTypeOf(bytes);
      if (!type) throw new HubError('HUB_ERR_PHOTO_TYPE', `declared ${file.mimetype}`);
      const dir = path.join(deps.dataDir, 'photos', String(c.id));
      await mkdir(dir, { recursive: true });
      const fileName = randomBytes(12).toString('hex') + type.ext;
      await writeFile(path.join(dir, fileName), bytes, { mode: 0o600 });
      const photo = await insertCasePhoto(db, {
        caseId: c.id,
        fileName,
        contentType: type.contentType,
        bytes: bytes.length,
        uploadedBy: req.user!.id,
      });
      return reply
        .status(201)
        .send({ id: photo.id, bytes: bytes.length, contentType: type.contentType });
    },
  );

  api.get<{ Params: { id: number; photoId: number } }>(
    '/cases/:id/photos/:photoId',
    {
      ...anyUser,
      schema: {
        tags: ['cases'],
        params: {
          type: 'object',
          properties: { id: { type: 'integer' }, photoId: { type: 'integer' } },
        },
      },
    },
    async (req, reply) => {
      const c = await visibleCase(req, req.params.id);
      const photo = await getCasePhoto(db, c.id, req.params.photoId);
      if (!photo) throw new HubError('HUB_ERR_NOT_FOUND', 'no such photo');
      return reply
        .headers(photoHeaders(photo.contentType, photo.fileName))
        .send(createReadStream(path.join(deps.dataDir, 'photos', String(c.id), photo.fileName)));
    },
  );
}
