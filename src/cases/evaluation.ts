import {
  casesByCategory,
  caseKpis,
  facilityKpis,
  fieldIndicatorRows,
  getScoreWeights,
  handlingSpans,
  hotspotGrids,
  topProblems,
  unitNames,
  type KpiRow,
  type Queryable,
} from '../db/index.js';
import {
  areaCodeLength,
  change,
  defaultScoreWeights,
  fieldReportIndicators,
  satisfiedRatings,
  previousPeriod,
  rankByScore,
  samePeriodLastYear,
  scoreOf,
  scoreWeightsProblem,
  workingTimeBetween,
  type EvaluationIndicator,
  type EvaluationLevel,
  type EvaluationPeriod,
  type ScoreWeights,
  type ScoredIndicator,
  type WorkingCalendar,
} from '../domain/index.js';
import { isLightingTime } from '../rules/index.js';
import { lightingRateOver, lightingSettings } from './lighting.js';

/**
 * Evaluation of a period (月考核、季点评, seed 004): the case indicators of
 * `caseKpis` per unit, facility indicators per area, the weighted score, the
 * rank, and the change against the previous period (环比) and the same period
 * a year before (同比). Formulas: docs/evaluation.md; the pure parts live in
 * domain/evaluation.ts.
 */

export type IndicatorValues = Partial<Record<EvaluationIndicator, number | null>>;

export interface EvaluationRow {
  /** Area code, department id or crew id; null for cases without one (never ranked). */
  readonly key: string | null;
  readonly name: string | null;
  readonly indicators: IndicatorValues;
  readonly score: number | null;
  /** Points per scored indicator out of its weight. */
  readonly parts: Readonly<Record<ScoredIndicator, number | null>>;
  readonly rank: number | null;
  /** The score in the previous period and a year before, and the changes (points). */
  readonly previousScore: number | null;
  readonly lastYearScore: number | null;
  readonly scoreChange: number | null;
  readonly scoreChangeYoY: number | null;
}

export interface Evaluation {
  readonly period: EvaluationPeriod;
  readonly level: EvaluationLevel;
  readonly area: string | null;
  /** Case figures are as of this instant: the period's end, or now while it runs. */
  readonly asOf: string;
  /** Integrity and online rate are a snapshot at this instant (the evaluation's computation). */
  readonly facilitiesAsOf: string;
  readonly weights: ScoreWeights;
  readonly rows: readonly EvaluationRow[];
  readonly topProblems: readonly {
    facilityType: string | null;
    ruleId: string | null;
    title: string;
    cases: number;
  }[];
  readonly hotspots: readonly { gridCode: string; name: string | null; cases: number }[];
  /** Cases registered in the period by 部件/事件 category (issue #16), most first. */
  readonly categories: readonly { categoryCode: string | null; cases: number }[];
}

export interface EvaluationDeps {
  readonly db: Queryable;
  readonly timeZone: string;
  readonly calendar: () => Promise<WorkingCalendar>;
  readonly now: () => Date;
}

const areaLevels: ReadonlySet<EvaluationLevel> = new Set([
  'city',
  'district',
  'street',
  'community',
  'grid',
]);

const hours = (seconds: number | null): number | null =>
  seconds === null ? null : Math.round((seconds / 3600) * 100) / 100;

/** The case indicators of one KPI row under the evaluation's names. */
function caseIndicators(k: KpiRow): IndicatorValues {
  return {
    registered: k.registered,
    dispatched: k.dispatched,
    closed: k.closed,
    due: k.due,
    deferred: k.deferred,
    closureRate: k.closureRate,
    onTimeClosureRate: k.onTimeClosureRate,
    handlingRate: k.handlingRate,
    onTimeHandlingRate: k.onTimeHandlingRate,
    reworkRate: k.reworkRate,
    overduePending: k.overduePending,
    overduePendingRate: k.overduePendingRate,
    extensionRate: k.extensionRate,
    accurateDispatchRate: k.accurateDispatchRate,
    fromSensors: k.fromSensors,
    fromHotline: k.fromHotline,
    fromInspection: k.fromInspection,
  };
}

export function createEvaluationService(deps: EvaluationDeps) {
  const { db, timeZone } = deps;

  async function weights(): Promise<ScoreWeights> {
    const stored = await getScoreWeights(db);
    return stored && scoreWeightsProblem(stored) === null
      ? (stored as unknown as ScoreWeights)
      : defaultScoreWeights;
  }

  /** Case KPIs and score per unit for one period (no facility figures: comparisons need scores only). */
  async function scored(
    level: EvaluationLevel,
    period: EvaluationPeriod,
    area: string | null,
    w: ScoreWeights,
  ): Promise<{ asOf: string; rows: Map<string | null, { kpi: KpiRow; score: number | null }> }> {
    const nowMs = deps.now().getTime();
    const asOf = new Date(Math.min(Date.parse(period.to), nowMs)).toISOString();
    const kpis = await caseKpis(db, {
      groupBy: level,
      from: period.from,
      to: period.to,
      asOf,
      area,
      timeZone,
    });
    return {
      asOf,
      rows: new Map(kpis.map((kpi) => [kpi.key, { kpi, score: scoreOf(kpi, w).score }])),
    };
  }

  /** Mean registration → handled time per unit in working hours (the city's calendar). */
  async function workingHandleHours(
    level: EvaluationLevel,
    period: EvaluationPeriod,
    area: string | null,
    asOf: string,
  ): Promise<Map<string | null, number>> {
    const spans = await handlingSpans(db, {
      groupBy: level,
      from: period.from,
      to: period.to,
      asOf,
      area,
      timeZone,
    });
    if (spans.length === 0) return new Map();
    const cal = await deps.calendar();
    const sums = new Map<string | null, { minutes: number; n: number }>();
    for (const s of spans) {
      const acc = sums.get(s.key) ?? { minutes: 0, n: 0 };
      acc.minutes += workingTimeBetween(new Date(s.createdAt), new Date(s.handledAt), cal);
      acc.n++;
      sums.set(s.key, acc);
    }
    return new Map([...sums].map(([k, v]) => [k, Math.round((v.minutes / v.n / 60) * 100) / 100]));
  }

  /** Facility indicators per area: lighting rate over the period, integrity and online rate now. */
  async function facilityIndicators(
    level: EvaluationLevel,
    period: EvaluationPeriod,
    area: string | null,
    asOf: string,
  ): Promise<Map<string | null, IndicatorValues>> {
    const out = new Map<string | null, IndicatorValues>();
    if (!areaLevels.has(level)) return out;
    const areaLevel = level as 'city' | 'district' | 'street' | 'community' | 'grid';
    const settings = await lightingSettings(db);
    const lighting = await lightingRateOver(db, {
      level: areaLevel,
      area,
      fromMs: Date.parse(period.from),
      toMs: Date.parse(asOf),
      by: 'span',
      settings,
    });
    for (const l of lighting) out.set(l.area, { lightingRate: l.lightingRate });
    const nowIso = deps.now().toISOString();
    const { hours: lightingHours, darkCurrentA } = settings;
    const facilities = await facilityKpis(db, {
      level: areaLevel,
      area,
      asOf: nowIso,
      lightingTime: isLightingTime(Date.parse(nowIso), lightingHours),
      darkCurrentA,
    });
    for (const f of facilities) {
      out.set(f.area, {
        ...out.get(f.area),
        integrityRate: f.integrityRate,
        onlineRate: f.onlineRate,
      });
    }
    return out;
  }

  /** Report, verification and satisfaction indicators per area (issue #16); none per department or crew. */
  async function reportIndicators(
    level: EvaluationLevel,
    period: EvaluationPeriod,
    area: string | null,
  ): Promise<Map<string | null, IndicatorValues>> {
    if (!areaLevels.has(level)) return new Map();
    const rows = await fieldIndicatorRows(db, {
      from: period.from,
      to: period.to,
      area,
      areaLength: level === 'city' ? null : areaCodeLength[level as keyof typeof areaCodeLength],
      byInspector: false,
      satisfied: satisfiedRatings,
    });
    return new Map(rows.map((r) => [r.key, fieldReportIndicators(r)]));
  }

  async function evaluate(q: {
    period: EvaluationPeriod;
    level: EvaluationLevel;
    area?: string | null;
  }): Promise<Evaluation> {
    const area = q.area ?? null;
    const w = await weights();
    const [current, previous, lastYear] = await Promise.all([
      scored(q.level, q.period, area, w),
      scored(q.level, previousPeriod(q.period, timeZone), area, w),
      scored(q.level, samePeriodLastYear(q.period, timeZone), area, w),
    ]);
    const [working, facilities, names, problems, hotspots, reported, categories] =
      await Promise.all([
        workingHandleHours(q.level, q.period, area, current.asOf),
        facilityIndicators(q.level, q.period, area, current.asOf),
        unitNames(db, q.level === 'department' || q.level === 'crew' ? q.level : 'area'),
        topProblems(db, { from: q.period.from, to: q.period.to, area, limit: 10 }),
        hotspotGrids(db, { from: q.period.from, to: q.period.to, area, limit: 10 }),
        reportIndicators(q.level, q.period, area),
        casesByCategory(db, { from: q.period.from, to: q.period.to, area }),
      ]);
    const keys = new Set<string | null>([
      ...current.rows.keys(),
      ...facilities.keys(),
      ...reported.keys(),
    ]);
    const unranked: Omit<EvaluationRow, 'rank'>[] = [...keys].map((key) => {
      const c = current.rows.get(key);
      const indicators: IndicatorValues = {
        ...(c ? caseIndicators(c.kpi) : {}),
        meanHandleHours: c ? hours(c.kpi.meanHandledAfterS) : null,
        meanHandleWorkingHours: working.get(key) ?? null,
        ...facilities.get(key),
        ...reported.get(key),
      };
      const s = c ? scoreOf(c.kpi, w) : { score: null, parts: scoreOf(nothingDue, w).parts };
      const prev = previous.rows.get(key)?.score ?? null;
      const yoy = lastYear.rows.get(key)?.score ?? null;
      return {
        key,
        name: key === null ? null : (names.get(key) ?? null),
        indicators: { ...indicators, score: s.score },
        score: key === null ? null : s.score,
        parts: s.parts,
        previousScore: prev,
        lastYearScore: yoy,
        scoreChange: change(s.score, prev),
        scoreChangeYoY: change(s.score, yoy),
      };
    });
    const rows = rankByScore(unranked).map((r) => ({
      ...r,
      indicators: { ...r.indicators, rank: r.rank },
    }));
    return {
      period: q.period,
      level: q.level,
      area,
      asOf: current.asOf,
      facilitiesAsOf: deps.now().toISOString(),
      weights: w,
      rows,
      topProblems: problems,
      hotspots,
      categories,
    };
  }

  return { evaluate, weights };
}

const nothingDue = {
  handlingRate: null,
  onTimeHandlingRate: null,
  reworkRate: null,
  overduePendingRate: null,
  extensionRate: null,
};

export type EvaluationService = ReturnType<typeof createEvaluationService>;
