import { createReadStream } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { FieldReportService } from '../cases/index.js';
import type { Queryable } from '../db/index.js';
import {
  HubError,
  categoryCodePattern,
  categoryMajors,
  facilityTypes,
  fieldReportSources,
  fieldReportStates,
  gridCodePattern,
  maxReportPhotos,
  rejectReasons,
  severities,
  verificationResults,
  type FacilityType,
  type RejectReason,
  type Severity,
  type VerificationResult,
} from '../domain/index.js';
import { anyUser, requireRole, requestActor } from './auth.js';
import { idParams } from './query.js';
import { createIdempotency } from './idempotency.js';
import { numberField, readPhotoForm, requiredNumber, textField } from './multipart-photos.js';
import { photoHeaders } from './photos.js';

export interface FieldReportRouteDeps {
  readonly db: Queryable;
  readonly fieldReports: FieldReportService;
}

/**
 * Field reports (上报) and their acceptance (受理), on-site verification (核查)
 * and the classification (issue #16; docs/api.md "Reports (上报) …").
 */
export function registerFieldReportRoutes(api: FastifyInstance, deps: FieldReportRouteDeps): void {
  const { fieldReports } = deps;
  // The phone's offline queue replays a report or a verification it may have
  // sent already (the answer lost with the network): the key makes it one.
  const idempotency = createIdempotency(deps.db);
  const once = { preHandler: idempotency.preHandler, onSend: idempotency.onSend };

  api.get('/categories', { ...anyUser, schema: { tags: ['reports'] } }, async () => ({
    majors: categoryMajors,
    categories: await fieldReports.categories(),
  }));

  api.put<{
    Params: { code: string };
    Body: { label: { zh: string; en: string }; public?: boolean };
  }>(
    '/categories/:code',
    {
      ...requireRole('admin'),
      schema: {
        tags: ['reports'],
        params: {
          type: 'object',
          required: ['code'],
          properties: { code: { type: 'string', pattern: categoryCodePattern } },
        },
        body: {
          type: 'object',
          required: ['label'],
          additionalProperties: false,
          properties: {
            label: {
              type: 'object',
              required: ['zh', 'en'],
              additionalProperties: false,
              properties: {
                zh: { type: 'string', minLength: 1, maxLength: 60 },
                en: { type: 'string', minLength: 1, maxLength: 100 },
              },
            },
            public: { type: 'boolean' },
          },
        },
      },
    },
    async (req) => {
      await fieldReports.putCategory({
        code: req.params.code,
        zh: req.body.label.zh,
        en: req.body.label.en,
        public: req.body.public ?? true,
      });
      return fieldReports.category(req.params.code);
    },
  );

  api.post(
    '/field-reports',
    { ...requireRole('inspector'), ...once, schema: { tags: ['reports'] } },
    async (req, reply) => {
      const { fields, photos } = await readPhotoForm(req, maxReportPhotos);
      const categoryCode = textField(fields, 'categoryCode', 5);
      if (!categoryCode) throw new HubError('HUB_ERR_BAD_REQUEST', 'categoryCode is required');
      const report = await fieldReports.create({
        source: 'inspection',
        reporter: requestActor(req),
        categoryCode,
        lat: requiredNumber(fields, 'lat', -90, 90),
        lon: requiredNumber(fields, 'lon', -180, 180),
        accuracyM: numberField(fields, 'accuracy', 0, 100_000) ?? null,
        note: textField(fields, 'note', 2000) ?? null,
        patrolId: numberField(fields, 'patrolId', 1, Number.MAX_SAFE_INTEGER) ?? null,
        photos,
      });
      return reply.status(201).send(report);
    },
  );

  api.get<{
    Querystring: { state?: string; source?: string; mine?: boolean; limit: number; offset: number };
  }>(
    '/field-reports',
    {
      ...requireRole('inspector', 'operator', 'supervisor', 'viewer'),
      schema: {
        tags: ['reports'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { enum: [...fieldReportStates] },
            source: { enum: [...fieldReportSources] },
            mine: { type: 'boolean' },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
            offset: { type: 'integer', minimum: 0, default: 0 },
          },
        },
      },
    },
    async (req) => ({ reports: await fieldReports.list(requestActor(req), req.query) }),
  );

  api.get(
    '/field-reports/queue',
    { ...requireRole('operator', 'supervisor'), schema: { tags: ['reports'] } },
    async (req) => ({ items: await fieldReports.queue(requestActor(req)) }),
  );

  api.get<{ Params: { id: number } }>(
    '/field-reports/:id',
    {
      ...requireRole('inspector', 'operator', 'supervisor', 'viewer'),
      schema: { tags: ['reports'], params: idParams },
    },
    async (req) => fieldReports.get(requestActor(req), req.params.id),
  );

  api.get<{ Params: { id: number; photoId: number } }>(
    '/field-reports/:id/photos/:photoId',
    {
      ...requireRole('inspector', 'operator', 'supervisor', 'viewer'),
      schema: {
        tags: ['reports'],
        params: {
          type: 'object',
          properties: { id: { type: 'integer' }, photoId: { type: 'integer' } },
        },
      },
    },
    async (req, reply) => {
      const p = await fieldReports.photo(requestActor(req), req.params.id, req.params.photoId);
      return reply.headers(photoHeaders(p.contentType, p.fileName)).send(createReadStream(p.path));
    },
  );

  api.post<{
    Params: { id: number };
    Body: {
      severity?: Severity;
      title?: string;
      note?: string;
      facilityType?: FacilityType;
      gridCode?: string;
    } | null;
  }>(
    '/field-reports/:id/accept',
    {
      ...requireRole('operator', 'supervisor'),
      schema: {
        tags: ['reports'],
        params: idParams,
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            severity: { enum: [...severities] },
            title: { type: 'string', minLength: 1, maxLength: 200 },
            note: { type: 'string', maxLength: 2000 },
            facilityType: { enum: [...facilityTypes] },
            gridCode: { type: 'string', pattern: gridCodePattern },
          },
        },
      },
    },
    async (req) => fieldReports.accept(requestActor(req), req.params.id, req.body ?? {}),
  );

  api.post<{
    Params: { id: number };
    Body: { reason: RejectReason; duplicateOfCaseId?: number; note?: string };
  }>(
    '/field-reports/:id/reject',
    {
      ...requireRole('operator', 'supervisor'),
      schema: {
        tags: ['reports'],
        params: idParams,
        body: {
          type: 'object',
          required: ['reason'],
          additionalProperties: false,
          properties: {
            reason: { enum: [...rejectReasons] },
            duplicateOfCaseId: { type: 'integer', minimum: 1 },
            note: { type: 'string', maxLength: 500 },
          },
        },
      },
    },
    async (req) => ({
      report: await fieldReports.reject(requestActor(req), req.params.id, req.body),
    }),
  );

  api.post<{ Params: { id: number }; Body: { reportId?: number; caseId?: number } }>(
    '/field-reports/:id/merge',
    {
      ...requireRole('operator', 'supervisor'),
      schema: {
        tags: ['reports'],
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          maxProperties: 1,
          properties: {
            reportId: { type: 'integer', minimum: 1 },
            caseId: { type: 'integer', minimum: 1 },
          },
        },
      },
    },
    async (req) => ({
      report: await fieldReports.merge(requestActor(req), req.params.id, req.body),
    }),
  );

  // ---- On-site verification (核查) ----

  api.get(
    '/verifications',
    { ...requireRole('inspector', 'supervisor'), schema: { tags: ['reports'] } },
    async (req) => ({ tasks: await fieldReports.verificationTasks(requestActor(req)) }),
  );

  api.post<{ Params: { id: number } }>(
    '/cases/:id/verification',
    {
      ...requireRole('inspector', 'supervisor'),
      ...once,
      schema: { tags: ['reports'], params: idParams },
    },
    async (req) => {
      const { fields, photos } = await readPhotoForm(req, maxReportPhotos);
      const result = fields.result as VerificationResult | undefined;
      if (!result || !verificationResults.includes(result)) {
        throw new HubError(
          'HUB_ERR_BAD_REQUEST',
          `result is one of ${verificationResults.join(', ')}`,
        );
      }
      return fieldReports.verify(requestActor(req), req.params.id, {
        result,
        note: textField(fields, 'note', 2000) ?? null,
        photos,
      });
    },
  );

  api.get<{ Params: { id: number } }>(
    '/cases/:id/verifications',
    { ...anyUser, schema: { tags: ['reports'], params: idParams } },
    async (req) => ({
      verifications: await fieldReports.verifications(requestActor(req), req.params.id),
    }),
  );
}
