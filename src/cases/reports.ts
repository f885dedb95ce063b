import type { Logger } from 'pino';
import {
  alarmsOpened,
  caseFlow,
  insertFirstReport,
  insertReportVersion,
  reportExists,
  unitNames,
  type Queryable,
  type ReportKind,
  type ReportSummary,
} from '../db/index.js';
import {
  evaluationPeriod,
  localDateOf,
  periodLabelOf,
  reportPeriodKinds,
  previousPeriod,
  type EvaluationLevel,
  type EvaluationPeriod,
  type EvaluationPeriodKind,
} from '../domain/index.js';
import type { Evaluation, EvaluationService } from './evaluation.js';
import { lightingRateOver } from './lighting.js';

/**
 * Period reports (issue #15): the control room's daily report, the monthly
 * assessment (月考核) and the quarterly review (季点评, seed 004). The leader
 * generates each once its period has closed; the figures are stored as built,
 * so a report never changes when later data arrives, and a regeneration is a
 * new version (docs/evaluation.md).
 */

export const reportKinds = [
  'daily',
  'monthly',
  'quarterly',
] as const satisfies readonly ReportKind[];

export const reportPeriodKind: Readonly<Record<ReportKind, EvaluationPeriodKind>> =
  reportPeriodKinds;

export const reportTitles: Readonly<Record<ReportKind, { zh: string; en: string }>> = {
  daily: { zh: '指挥中心日报', en: 'Daily report' },
  monthly: { zh: '月度考核', en: 'Monthly assessment' },
  quarterly: { zh: '季度点评', en: 'Quarterly review' },
};

/** Which rankings each report carries. */
const reportLevels: Readonly<Record<ReportKind, readonly EvaluationLevel[]>> = {
  daily: ['district'],
  monthly: ['district', 'street', 'department', 'crew'],
  quarterly: ['district', 'street', 'department', 'crew'],
};

export interface DailyFigures {
  readonly alarms: readonly { severity: string; facilityType: string; alarms: number }[];
  readonly casesClosed: number;
  readonly overdueOpen: number;
  /** The night whose dawn falls on the report's day: the last one the report has whole. */
  readonly lastNight: {
    readonly night: string;
    readonly rows: readonly {
      area: string | null;
      name: string | null;
      lightingRate: number | null;
    }[];
  };
}

export interface ReportFigures {
  readonly kind: ReportKind;
  readonly title: { zh: string; en: string };
  readonly period: EvaluationPeriod;
  readonly city: { readonly code: string | null; readonly name: string | null };
  readonly timeZone: string;
  readonly generatedAt: string;
  /** The whole city's row (the `city` level) and one evaluation per ranked level. */
  readonly cityEvaluation: Evaluation;
  readonly evaluations: readonly Evaluation[];
  readonly daily: DailyFigures | null;
}

export interface ReportDeps {
  readonly db: Queryable;
  readonly evaluation: EvaluationService;
  readonly timeZone: string;
  readonly now: () => Date;
  readonly logger: Logger;
  /** Told of every stored report (webhook `report.generated`). */
  readonly onGenerated?: (report: ReportSummary, figures: ReportFigures) => void;
}

export function createReportService(deps: ReportDeps) {
  const { db, evaluation, timeZone } = deps;

  async function city(): Promise<{ code: string | null; name: string | null }> {
    const { rows } = await db.query<{ code: string; name: string }>(
      `SELECT code, name FROM areas WHERE level = 'city' ORDER BY code LIMIT 1`,
    );
    return rows[0] ?? { code: null, name: null };
  }

  async function daily(period: EvaluationPeriod): Promise<DailyFigures> {
    const asOf = new Date(Math.min(Date.parse(period.to), deps.now().getTime())).toISOString();
    const night = previousPeriod(period, timeZone);
    // From the evening before the report's day to its end: the lighting hours of that night.
    const [alarms, flow, lighting, cityRows, names] = await Promise.all([
      alarmsOpened(db, { from: period.from, to: period.to }),
      caseFlow(db, { from: period.from, to: period.to, asOf }),
      lightingRateOver(db, {
        level: 'district',
        fromMs: Date.parse(night.from) + 12 * 3_600_000,
        toMs: Date.parse(period.from) + 12 * 3_600_000,
        by: 'span',
      }),
      lightingRateOver(db, {
        level: 'city',
        fromMs: Date.parse(night.from) + 12 * 3_600_000,
        toMs: Date.parse(period.from) + 12 * 3_600_000,
        by: 'span',
      }),
      unitNames(db, 'area'),
    ]);
    return {
      alarms,
      casesClosed: flow.closed,
      overdueOpen: flow.overdueOpen,
      lastNight: {
        night: night.label,
        rows: [...cityRows, ...lighting].map((r) => ({
          area: r.area,
          name: r.area === null ? null : (names.get(r.area) ?? r.name),
          lightingRate: r.lightingRate,
        })),
      },
    };
  }

  async function build(kind: ReportKind, label: string): Promise<ReportFigures> {
    const period = evaluationPeriod(reportPeriodKind[kind], label, timeZone);
    const [cityInfo, cityEvaluation, daily_, ...evaluations] = await Promise.all([
      city(),
      evaluation.evaluate({ period, level: 'city' }),
      kind === 'daily' ? daily(period) : Promise.resolve(null),
      ...reportLevels[kind].map((level) => evaluation.evaluate({ period, level })),
    ]);
    return {
      kind,
      title: reportTitles[kind],
      period,
      city: cityInfo,
      timeZone,
      generatedAt: deps.now().toISOString(),
      cityEvaluation,
      evaluations,
      daily: daily_,
    };
  }

  /** The label of the last period of `kind` that has closed at `nowMs`. */
  function lastClosed(kind: ReportKind, nowMs: number): string {
    const periodKind = reportPeriodKind[kind];
    const today = localDateOf(nowMs, timeZone);
    const current = evaluationPeriod(periodKind, periodLabelOf(periodKind, today), timeZone);
    return previousPeriod(current, timeZone).label;
  }

  let running: Promise<ReportSummary[]> | null = null;

  async function generateDue(): Promise<ReportSummary[]> {
    const made: ReportSummary[] = [];
    for (const kind of reportKinds) {
      const label = lastClosed(kind, deps.now().getTime());
      if (await reportExists(db, kind, label)) continue;
      const figures = await build(kind, label);
      const stored = await insertFirstReport(db, {
        kind,
        period: label,
        generatedBy: 'system',
        figures,
      });
      if (!stored) continue;
      deps.logger.info({ kind, period: label, id: stored.id }, 'report generated');
      deps.onGenerated?.(stored, figures);
      made.push(stored);
    }
    return made;
  }

  return {
    build,
    lastClosed,
    /**
     * The leader's duty: every kind's last closed period gets its report once.
     * Two leaders in a handover both trying store one row (version 1 is unique);
     * a check while the last one still runs joins it.
     */
    generateDue(): Promise<ReportSummary[]> {
      running ??= generateDue().finally(() => (running = null));
      return running;
    },
    /** Resolves when no generation runs (the hub's stop waits for it). */
    async idle(): Promise<void> {
      await running?.catch(() => {});
    },
    /** A new version of a period's report, asked for by a user. */
    async regenerate(kind: ReportKind, label: string, by: string): Promise<ReportSummary> {
      const figures = await build(kind, label);
      const stored = await insertReportVersion(db, {
        kind,
        period: label,
        generatedBy: by,
        figures,
      });
      deps.onGenerated?.(stored, figures);
      return stored;
    },
  };
}

export type ReportService = ReturnType<typeof createReportService>;
