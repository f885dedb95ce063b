import type { FastifyInstance } from 'fastify';
import type { FieldReportService } from '../cases/index.js';
import { fieldIndicatorRows, listCaseDetails, unitNames, type Queryable } from '../db/index.js';
import {
  HubError,
  caseScopeOf,
  caseStateLabels,
  caseStates,
  categoryFilterPattern,
  evaluationPeriod,
  fieldReportIndicators,
  periodKindOf,
  satisfiedRatings,
  type CaseDetail,
} from '../domain/index.js';
import { requireRole, requestActor } from './auth.js';

export interface CaseExportDeps {
  readonly db: Queryable;
  readonly fieldReports: FieldReportService;
  readonly timeZone: string;
}

/** A CSV field: quoted when it holds a separator, a quote or a line break; formulas defused. */
function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = String(v);
  // A spreadsheet runs a cell that starts with = + - @ as a formula (CSV injection).
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Rows the export holds at most; a larger city filters by period or area. */
const maxExportRows = 10_000;

/**
 * The case export with its 部件/事件 category (issue #16): CSV in UTF-8 with a
 * BOM, so Excel opens the Chinese labels as they are; and the report
 * indicators per inspector for a period.
 */
export function registerCaseExportRoutes(api: FastifyInstance, deps: CaseExportDeps): void {
  const { db, fieldReports } = deps;

  api.get<{
    Querystring: { state?: string; area?: string; categoryCode?: string; format: 'csv' };
  }>(
    '/cases/export',
    {
      ...requireRole('operator', 'supervisor', 'viewer'),
      schema: {
        tags: ['cases'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            format: { enum: ['csv'], default: 'csv' },
            state: { enum: [...caseStates] },
            area: { type: 'string', pattern: '^\\d{1,15}$' },
            categoryCode: { type: 'string', pattern: categoryFilterPattern },
          },
        },
      },
    },
    async (req, reply) => {
      const { cases } = await listCaseDetails(
        db,
        { ...req.query, limit: maxExportRows, offset: 0 },
        caseScopeOf(requestActor(req)),
      );
      const labels = new Map((await fieldReports.categories()).map((c) => [c.code, c.label]));
      const columns: [string, (c: CaseDetail) => unknown][] = [
        ['code', (c) => c.code],
        ['state', (c) => c.state],
        ['stateLabel', (c) => caseStateLabels[c.state].zh],
        ['source', (c) => c.source],
        ['kind', (c) => c.kind],
        ['categoryCode', (c) => c.categoryCode],
        ['categoryLabel', (c) => (c.categoryCode ? labels.get(c.categoryCode)?.zh : null)],
        ['severity', (c) => c.severity],
        ['title', (c) => c.title],
        ['facilityType', (c) => c.facilityType],
        ['gridCode', (c) => c.gridCode],
        ['lat', (c) => c.lat],
        ['lon', (c) => c.lon],
        ['crewId', (c) => c.crewId],
        ['createdAt', (c) => c.createdAt],
        ['handledAt', (c) => c.handledAt],
        ['closedAt', (c) => c.closedAt],
        ['overdue', (c) => c.overdue],
        ['reworkCount', (c) => c.reworkCount],
      ];
      const lines = [
        columns.map(([name]) => name).join(','),
        ...cases.map((c) => columns.map(([, get]) => csvField(get(c))).join(',')),
      ];
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="cases.csv"')
        .send('\uFEFF' + lines.join('\r\n') + '\r\n');
    },
  );

  api.get<{ Querystring: { period: string } }>(
    '/evaluation/inspectors',
    {
      ...requireRole('operator', 'supervisor', 'viewer'),
      schema: {
        tags: ['evaluation'],
        querystring: {
          type: 'object',
          required: ['period'],
          additionalProperties: false,
          properties: { period: { type: 'string', maxLength: 10 } },
        },
      },
    },
    async (req) => {
      const kind = periodKindOf(req.query.period);
      if (!kind) throw new HubError('HUB_ERR_BAD_REQUEST', 'period like 2026-11, 2026-Q4 or 2026');
      const period = evaluationPeriod(kind, req.query.period, deps.timeZone);
      const rows = await fieldIndicatorRows(db, {
        from: period.from,
        to: period.to,
        area: caseScopeOf(requestActor(req)).area,
        areaLength: null,
        byInspector: true,
        satisfied: satisfiedRatings,
      });
      const names = await unitNames(db, 'inspector');
      return {
        period,
        rows: rows
          .filter((r) => r.key !== null)
          .map((r) => ({
            inspectorId: Number(r.key),
            name: names.get(r.key!) ?? null,
            verifications: r.verifications,
            ...fieldReportIndicators(r),
          })),
      };
    },
  );
}
