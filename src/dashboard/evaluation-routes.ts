import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  reportKinds,
  reportPeriodKind,
  type EvaluationService,
  type ReportFigures,
  type ReportService,
} from '../cases/index.js';
import { getReport, listReports, putScoreWeights, type Queryable } from '../db/index.js';
import {
  HubError,
  evaluationLevels,
  evaluationPeriod,
  periodKindOf,
  scoreWeightsProblem,
  scoredIndicators,
  type EvaluationLevel,
} from '../domain/index.js';
import { requireRole, type UserRole } from './auth.js';
import { reportWorkbook } from './report-excel.js';
import { reportPrintPage } from './report-print.js';

export interface EvaluationRouteDeps {
  readonly db: Queryable;
  readonly evaluation: EvaluationService;
  readonly reports: ReportService;
  readonly timeZone: string;
}

const readers: UserRole[] = ['operator', 'supervisor', 'viewer'];

/** `2026-11-30` a day, `2026-11` a month, `2026-Q4` a quarter, `2026` a year. */
const periodPattern = '^\\d{4}(-\\d{2}(-\\d{2})?|-Q[1-4])?$';

/** Reports rank every district: a user confined to one area reads its own evaluation only. */
function mustSeeCity(req: FastifyRequest): void {
  if (req.user?.areaCode)
    throw new HubError(
      'HUB_ERR_FORBIDDEN',
      'reports cover the whole city; ask for /api/evaluation',
    );
}

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1, maximum: 2_147_483_647 } },
} as const;

/** /api/evaluation and /api/reports (docs/evaluation.md). */
export function registerEvaluationRoutes(api: FastifyInstance, deps: EvaluationRouteDeps): void {
  const { db, evaluation, reports, timeZone } = deps;

  api.get<{ Querystring: { period: string; level: EvaluationLevel; area?: string } }>(
    '/evaluation',
    {
      ...requireRole(...readers),
      schema: {
        tags: ['evaluation'],
        summary:
          'Indicators, scores and ranks of a period (月考核、季点评) per area, department or crew',
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['period'],
          properties: {
            period: {
              type: 'string',
              pattern: periodPattern,
              description: '2026-11-30 (day), 2026-11 (month), 2026-Q4 (quarter) or 2026 (year)',
            },
            level: { enum: [...evaluationLevels], default: 'district' },
            area: { type: 'string', pattern: '^\\d{6,15}$' },
          },
        },
      },
    },
    async (req) => {
      const label = req.query.period;
      const period = evaluationPeriod(periodKindOf(label) ?? 'day', label, timeZone);
      const scope = req.user?.areaCode ?? null;
      const asked = req.query.area ?? null;
      const area = scope && !(asked ?? '').startsWith(scope) ? scope : asked;
      if (scope && (req.query.level === 'department' || req.query.level === 'crew'))
        throw new HubError('HUB_ERR_FORBIDDEN', 'departments and crews span areas');
      return evaluation.evaluate({ period, level: req.query.level, area });
    },
  );

  api.get(
    '/evaluation/weights',
    {
      ...requireRole(...readers),
      schema: { tags: ['evaluation'], summary: 'The score weights in force' },
    },
    async () => ({ weights: await evaluation.weights() }),
  );

  api.put<{ Body: Record<string, number> }>(
    '/evaluation/weights',
    {
      ...requireRole('admin'),
      schema: {
        tags: ['evaluation'],
        summary: 'Set the score weights (admin)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: [...scoredIndicators],
          properties: Object.fromEntries(
            scoredIndicators.map((k) => [k, { type: 'number', minimum: 0, maximum: 1000 }]),
          ),
        },
      },
    },
    async (req) => {
      const problem = scoreWeightsProblem(req.body);
      if (problem) throw new HubError('HUB_ERR_BAD_REQUEST', problem);
      await putScoreWeights(db, req.body, req.user!.username);
      return { weights: await evaluation.weights() };
    },
  );

  api.get<{ Querystring: { kind?: (typeof reportKinds)[number]; period?: string; limit: number } }>(
    '/reports',
    {
      ...requireRole(...readers),
      schema: {
        tags: ['evaluation'],
        summary: 'Stored reports: daily report, monthly assessment, quarterly review',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            kind: { enum: [...reportKinds] },
            period: { type: 'string', pattern: periodPattern },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
          },
        },
      },
    },
    async (req) => {
      mustSeeCity(req);
      return { reports: await listReports(db, req.query) };
    },
  );

  api.post<{ Body: { kind: (typeof reportKinds)[number]; period: string } }>(
    '/reports',
    {
      ...requireRole('supervisor'),
      schema: {
        tags: ['evaluation'],
        summary: 'Generate a report now: a new version of its period',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['kind', 'period'],
          properties: {
            kind: { enum: [...reportKinds] },
            period: { type: 'string', pattern: periodPattern },
          },
        },
      },
    },
    async (req, reply) => {
      mustSeeCity(req);
      const { kind, period } = req.body;
      // Parsing checks that the label is of the report's kind (a month for a monthly assessment).
      evaluationPeriod(reportPeriodKind[kind], period, timeZone);
      const stored = await reports.regenerate(kind, period, req.user!.username);
      return reply.status(201).send(stored);
    },
  );

  const mustGet = async (req: FastifyRequest<{ Params: { id: number } }>) => {
    mustSeeCity(req);
    const report = await getReport(db, req.params.id);
    if (!report) throw new HubError('HUB_ERR_NOT_FOUND', `no report ${req.params.id}`);
    return report;
  };

  api.get<{ Params: { id: number } }>(
    '/reports/:id',
    {
      ...requireRole(...readers),
      schema: { tags: ['evaluation'], summary: 'One report with its figures', params: idParams },
    },
    mustGet,
  );

  api.get<{ Params: { id: number } }>(
    '/reports/:id/xlsx',
    {
      ...requireRole(...readers),
      schema: { tags: ['evaluation'], summary: 'A report as an Excel workbook', params: idParams },
    },
    async (req, reply) => {
      const report = await mustGet(req);
      const figures = report.figures as unknown as ReportFigures;
      const book = await reportWorkbook(figures);
      const name = `${figures.kind}-${report.period}-v${report.version}.xlsx`;
      return reply
        .type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
        .header('content-disposition', `attachment; filename="${name}"`)
        .send(Buffer.from(await book.xlsx.writeBuffer()));
    },
  );

  api.get<{ Params: { id: number } }>(
    '/reports/:id/print',
    {
      ...requireRole(...readers),
      schema: {
        tags: ['evaluation'],
        summary: 'A report as an A4 page to print',
        params: idParams,
      },
    },
    async (req, reply) => {
      const report = await mustGet(req);
      return reply
        .type('text/html; charset=utf-8')
        .send(reportPrintPage(report.figures as unknown as ReportFigures, report.version));
    },
  );
}
