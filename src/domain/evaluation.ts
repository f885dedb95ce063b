import { HubError } from './errors.js';
import { startOfLocalDate } from './working-time.js';

/**
 * Evaluation of a city's management (月考核、季点评, seed 004): periods,
 * indicators with their formulas, the weighted score and the ranking. Pure:
 * the figures come from `db/`, this file says what they mean and how they
 * are combined, once for the API, the control room, Excel and print.
 */

export const evaluationPeriodKinds = ['day', 'month', 'quarter', 'year'] as const;
export type EvaluationPeriodKind = (typeof evaluationPeriodKinds)[number];

/** What an evaluation ranks: areas of the four-level network, departments, crews. */
export const evaluationLevels = [
  'city',
  'district',
  'street',
  'community',
  'grid',
  'department',
  'crew',
] as const;
export type EvaluationLevel = (typeof evaluationLevels)[number];

export interface EvaluationPeriod {
  readonly kind: EvaluationPeriodKind;
  /** `2026-11-30`, `2026-11`, `2026-Q4`, `2026`. */
  readonly label: string;
  /** First local day (YYYY-MM-DD) and the day after the last, in the city's zone. */
  readonly firstDay: string;
  readonly endDay: string;
  /** The instants those local midnights fall on. */
  readonly from: string;
  readonly to: string;
}

const periodPatterns: Record<EvaluationPeriodKind, RegExp> = {
  day: /^(\d{4})-(\d{2})-(\d{2})$/,
  month: /^(\d{4})-(\d{2})$/,
  quarter: /^(\d{4})-Q([1-4])$/,
  year: /^(\d{4})$/,
};

const iso = (y: number, m: number, d: number): string => {
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.toISOString().slice(0, 10);
};

/** The local days [first, end) of a period label, or null when the label is not of that kind. */
function daysOf(kind: EvaluationPeriodKind, label: string): [string, string] | null {
  const m = periodPatterns[kind].exec(label);
  if (!m) return null;
  const y = Number(m[1]);
  if (y < 2000 || y > 2100) return null;
  switch (kind) {
    case 'day': {
      const first = iso(y, Number(m[2]), Number(m[3]));
      return first === label ? [first, iso(y, Number(m[2]), Number(m[3]) + 1)] : null;
    }
    case 'month': {
      const month = Number(m[2]);
      return month >= 1 && month <= 12 ? [iso(y, month, 1), iso(y, month + 1, 1)] : null;
    }
    case 'quarter': {
      const q = Number(m[2]);
      return [iso(y, q * 3 - 2, 1), iso(y, q * 3 + 1, 1)];
    }
    case 'year':
      return [iso(y, 1, 1), iso(y + 1, 1, 1)];
  }
}

/** The kind of a period label (`2026-11-30`, `2026-11`, `2026-Q4`, `2026`), or null. */
export function periodKindOf(label: string): EvaluationPeriodKind | null {
  return evaluationPeriodKinds.find((kind) => periodPatterns[kind].test(label)) ?? null;
}

/** The reports (issue #15) and the period each covers. */
export const reportPeriodKinds = { daily: 'day', monthly: 'month', quarterly: 'quarter' } as const;
export type ReportKind = keyof typeof reportPeriodKinds;

/** A period from its kind and label, its bounds in the city's zone. Bad labels: HUB_ERR_BAD_REQUEST. */
export function evaluationPeriod(
  kind: EvaluationPeriodKind,
  label: string,
  timeZone: string,
): EvaluationPeriod {
  const days = daysOf(kind, label);
  if (!days) {
    const example = { day: '2026-11-30', month: '2026-11', quarter: '2026-Q4', year: '2026' }[kind];
    throw new HubError('HUB_ERR_BAD_REQUEST', `a ${kind} period is written like ${example}`);
  }
  const [firstDay, endDay] = days;
  return {
    kind,
    label,
    firstDay,
    endDay,
    from: startOfLocalDate(firstDay, timeZone).toISOString(),
    to: startOfLocalDate(endDay, timeZone).toISOString(),
  };
}

/** The label of the period of `kind` that holds local date `date` (YYYY-MM-DD). */
export function periodLabelOf(kind: EvaluationPeriodKind, date: string): string {
  const y = date.slice(0, 4);
  const month = Number(date.slice(5, 7));
  switch (kind) {
    case 'day':
      return date.slice(0, 10);
    case 'month':
      return date.slice(0, 7);
    case 'quarter':
      return `${y}-Q${Math.ceil(month / 3)}`;
    case 'year':
      return y;
  }
}

/** 环比: the period just before. */
export function previousPeriod(p: EvaluationPeriod, timeZone: string): EvaluationPeriod {
  const before = new Date(Date.parse(p.firstDay + 'T00:00:00Z') - 86_400_000)
    .toISOString()
    .slice(0, 10);
  return evaluationPeriod(p.kind, periodLabelOf(p.kind, before), timeZone);
}

/** 同比: the same period a year before (29 February falls back to the 28th). */
export function samePeriodLastYear(p: EvaluationPeriod, timeZone: string): EvaluationPeriod {
  const year = String(Number(p.label.slice(0, 4)) - 1);
  let label = year + p.label.slice(4);
  if (p.kind === 'day' && label.endsWith('-02-29')) label = `${year}-02-28`;
  return evaluationPeriod(p.kind, label, timeZone);
}

/**
 * The indicators the score weighs, with the direction that is good. Default
 * weights (docs/evaluation.md): 处置率 30, 按期处置率 20, 返工率 20, 超期待处置率
 * 20, 延期率 10 — the shape of municipal assessment rules (Jinhua; Jinniu
 * district) quoted in docs/domain.md "KPIs"; a city sets its own.
 */
export const scoredIndicators = [
  'handlingRate',
  'onTimeHandlingRate',
  'reworkRate',
  'overduePendingRate',
  'extensionRate',
] as const;
export type ScoredIndicator = (typeof scoredIndicators)[number];
export type ScoreWeights = Readonly<Record<ScoredIndicator, number>>;

export const defaultScoreWeights: ScoreWeights = {
  handlingRate: 30,
  onTimeHandlingRate: 20,
  reworkRate: 20,
  overduePendingRate: 20,
  extensionRate: 10,
};

/** Higher is better for these; the others count as 1 − rate. */
const higherIsBetter: ReadonlySet<ScoredIndicator> = new Set([
  'handlingRate',
  'onTimeHandlingRate',
]);

export type ScoreInput = Readonly<Record<ScoredIndicator, number | null>>;

export interface Score {
  /** 0–100; null when no indicator has a value (nothing was due). */
  readonly score: number | null;
  /** Points each indicator earned out of its weight. */
  readonly parts: Readonly<Record<ScoredIndicator, number | null>>;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * Score = Σ weight × goodness ÷ Σ weights of the indicators that have a
 * value, × 100. Goodness is the rate for 处置率 and 按期处置率 and 1 − rate
 * for 返工率, 超期待处置率 and 延期率. A unit with nothing due gets no score
 * rather than a perfect one.
 */
export function scoreOf(input: ScoreInput, weights: ScoreWeights = defaultScoreWeights): Score {
  let points = 0;
  let weightSum = 0;
  const parts = {} as Record<ScoredIndicator, number | null>;
  for (const key of scoredIndicators) {
    const rate = input[key];
    const w = weights[key];
    if (rate === null || !(w > 0)) {
      parts[key] = null;
      continue;
    }
    const good = higherIsBetter.has(key) ? rate : 1 - rate;
    parts[key] = round2(w * good);
    points += w * good;
    weightSum += w;
  }
  return { score: weightSum === 0 ? null : round2((points / weightSum) * 100), parts };
}

/** Competition ranking (1, 2, 2, 4) by score, highest first; units without a score come last, unranked. */
export function rankByScore<T extends { readonly score: number | null }>(
  rows: readonly T[],
): (T & { readonly rank: number | null })[] {
  const sorted = [...rows].sort((a, b) => (b.score ?? -1) - (a.score ?? -1));
  return sorted.map((row, i) => {
    if (row.score === null) return { ...row, rank: null };
    const first = sorted.findIndex((r) => r.score === row.score);
    return { ...row, rank: (first === -1 ? i : first) + 1 };
  });
}

/** Change of a figure against another period: null when either side has none. */
export function change(now: number | null, before: number | null): number | null {
  return now === null || before === null ? null : round2(now - before);
}

/** Problems with weights given by a city: every indicator a finite, non-negative number, some above 0. */
export function scoreWeightsProblem(w: Record<string, unknown>): string | null {
  for (const key of scoredIndicators) {
    const v = w[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1000)
      return `weight ${key} must be a number from 0 to 1000`;
  }
  const unknown = Object.keys(w).filter(
    (k) => !(scoredIndicators as readonly string[]).includes(k),
  );
  if (unknown.length > 0) return `unknown weights: ${unknown.join(', ')}`;
  if (scoredIndicators.every((k) => w[k] === 0)) return 'at least one weight must be above 0';
  return null;
}

export type IndicatorFormat = 'count' | 'rate' | 'hours' | 'score' | 'rank';

export interface IndicatorDefinition {
  readonly zh: string;
  readonly en: string;
  readonly format: IndicatorFormat;
  /** The formula as the assessment rules write it (docs/domain.md "KPIs"). */
  readonly formula?: string;
}

/**
 * Every column of an evaluation, in report order: the API's field names,
 * the Excel headers and the print view's labels come from here.
 */
export const evaluationIndicators = {
  registered: { zh: '立案数', en: 'Registered', format: 'count' },
  dispatched: { zh: '派遣数', en: 'Dispatched', format: 'count' },
  closed: { zh: '结案数', en: 'Closed', format: 'count' },
  due: { zh: '应结案数', en: 'Due', format: 'count' },
  deferred: { zh: '缓办数', en: 'Deferred', format: 'count' },
  closureRate: {
    zh: '结案率',
    en: 'Closure rate',
    format: 'rate',
    formula: '结案数 ÷ (应结案数 − 缓办数)',
  },
  onTimeClosureRate: {
    zh: '按期结案率',
    en: 'On-time closure rate',
    format: 'rate',
    formula: '按期结案数 ÷ (应结案数 − 缓办数)',
  },
  handlingRate: { zh: '处置率', en: 'Handling rate', format: 'rate', formula: '处置数 ÷ 应处置数' },
  onTimeHandlingRate: {
    zh: '按期处置率',
    en: 'On-time handling rate',
    format: 'rate',
    formula: '按期处置数 ÷ 应处置数',
  },
  reworkRate: { zh: '返工率', en: 'Rework rate', format: 'rate', formula: '返工数 ÷ 应结案数' },
  overduePending: { zh: '超期待处置数', en: 'Overdue open', format: 'count' },
  overduePendingRate: {
    zh: '超期待处置率',
    en: 'Overdue open rate',
    format: 'rate',
    formula: '超期待处置数 ÷ 应处置数',
  },
  extensionRate: {
    zh: '延期率',
    en: 'Extension rate',
    format: 'rate',
    formula: '延期数 ÷ 应处置数',
  },
  accurateDispatchRate: {
    zh: '派遣准确率',
    en: 'Accurate dispatch rate',
    format: 'rate',
    formula: '一次派遣未改派未退回数 ÷ 派遣数',
  },
  meanHandleHours: {
    zh: '平均处置时长（小时）',
    en: 'Mean handling time (h)',
    format: 'hours',
    formula: '立案至反馈，自然时间',
  },
  meanHandleWorkingHours: {
    zh: '平均处置时长（工作小时）',
    en: 'Mean handling time (working h)',
    format: 'hours',
    formula: '立案至反馈，工作时间',
  },
  fromSensors: { zh: '传感器发现', en: 'From sensors', format: 'count' },
  fromHotline: { zh: '12345 热线', en: 'From the hotline', format: 'count' },
  fromInspection: { zh: '巡查上报', en: 'From inspection', format: 'count' },
  lightingRate: {
    zh: '亮灯率',
    en: 'Lighting rate',
    format: 'rate',
    formula: '亮灯数 ÷ 应亮灯数，期内夜间均值',
  },
  integrityRate: {
    zh: '设施完好率',
    en: 'Facility integrity rate',
    format: 'rate',
    formula: '(设施数 − 故障数) ÷ 设施数',
  },
  onlineRate: { zh: '在线率', en: 'Online rate', format: 'rate', formula: '在线设备数 ÷ 设备数' },
  // Grid officers and citizens (issue #16): counted by the report's grid (an inspector's: its grid).
  reportsReceived: { zh: '上报数', en: 'Reports received', format: 'count' },
  validReports: {
    zh: '有效上报数',
    en: 'Valid reports',
    format: 'count',
    formula: '受理立案数 + 合并数',
  },
  reportingAccuracy: {
    zh: '上报准确率',
    en: 'Reporting accuracy',
    format: 'rate',
    formula: '有效上报数 ÷ 已受理或不予受理的上报数',
  },
  onTimeAcceptanceRate: {
    zh: '按时受理率',
    en: 'On-time acceptance',
    format: 'rate',
    formula: '受理时限内受理或不予受理数 ÷ 已受理或不予受理的上报数',
  },
  onTimeVerificationRate: {
    zh: '按时核查率',
    en: 'On-time verification',
    format: 'rate',
    formula: '核查时限内现场核查数 ÷ 网格员现场核查数',
  },
  satisfactionRate: {
    zh: '满意率',
    en: 'Satisfaction rate',
    format: 'rate',
    formula: '(满意 + 基本满意) ÷ 评价数',
  },
  score: { zh: '综合得分', en: 'Score', format: 'score' },
  rank: { zh: '排名', en: 'Rank', format: 'rank' },
} as const satisfies Record<string, IndicatorDefinition>;
export type EvaluationIndicator = keyof typeof evaluationIndicators;

/** Rate of `part` in `whole`, or null when nothing was counted (no rate rather than 0 or 1). */
export function rateOf(part: number, whole: number): number | null {
  return whole > 0 ? Math.round((part / whole) * 10000) / 10000 : null;
}

/** The report indicators (issue #16) from their counts (db fieldIndicatorRows). */
export function fieldReportIndicators(c: {
  readonly reportsReceived: number;
  readonly reportsDecided: number;
  readonly validReports: number;
  readonly acceptedOnTime: number;
  readonly verifications: number;
  readonly verifiedOnTime: number;
  readonly ratings: number;
  readonly satisfied: number;
}): {
  reportsReceived: number;
  validReports: number;
  reportingAccuracy: number | null;
  onTimeAcceptanceRate: number | null;
  onTimeVerificationRate: number | null;
  satisfactionRate: number | null;
} {
  return {
    reportsReceived: c.reportsReceived,
    validReports: c.validReports,
    reportingAccuracy: rateOf(c.validReports, c.reportsDecided),
    onTimeAcceptanceRate: rateOf(c.acceptedOnTime, c.reportsDecided),
    onTimeVerificationRate: rateOf(c.verifiedOnTime, c.verifications),
    satisfactionRate: rateOf(c.satisfied, c.ratings),
  };
}
