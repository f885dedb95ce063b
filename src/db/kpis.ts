import { areaCodeLength } from '../domain/index.js';
import type { Queryable } from './pool.js';

export const kpiGroupings = [
  'grid',
  'community',
  'street',
  'district',
  'department',
  'month',
] as const;
export type KpiGrouping = (typeof kpiGroupings)[number];

/** SQL key per grouping; grid codes are 6 + 3 + 3 + 3 digits (domain/grid.ts). */
const groupKey: Record<KpiGrouping, string> = {
  grid: 'c.grid_code',
  community: `left(c.grid_code, ${areaCodeLength.community})`,
  street: `left(c.grid_code, ${areaCodeLength.street})`,
  district: `left(c.grid_code, ${areaCodeLength.district})`,
  department: 'c.department_id',
  // The city's months (CITY_TIMEZONE), bound as parameter $5.
  month: `to_char(c.created_at AT TIME ZONE $5::text, 'YYYY-MM')`,
};

export interface KpiRow {
  readonly key: string | null;
  /** 立案数: cases registered in the period, cancelled (作废) ones excluded. */
  readonly registered: number;
  /** 应结案数 = 应处置数: registered cases whose deadline has passed by `asOf`, or that were handled. */
  readonly due: number;
  /** 缓办数: due cases currently deferred. */
  readonly deferred: number;
  readonly closed: number;
  readonly closedOnTime: number;
  readonly handled: number;
  readonly handledOnTime: number;
  readonly reworked: number;
  readonly overduePending: number;
  readonly extended: number;
  /** 结案率 = 结案数 ÷ (应结案数 − 缓办数); null when the denominator is 0. */
  readonly closureRate: number | null;
  /** 按期结案率 = 按期结案数 ÷ (应结案数 − 缓办数). */
  readonly onTimeClosureRate: number | null;
  /** 处置率 = 处置数 ÷ 应处置数. */
  readonly handlingRate: number | null;
  /** 按期处置率 = 按期处置数 ÷ 应处置数. */
  readonly onTimeHandlingRate: number | null;
  /** 返工率 = 返工数 ÷ 应结案数. */
  readonly reworkRate: number | null;
  /** 超期待处置率 = 超期待处置数 ÷ 应处置数. */
  readonly overduePendingRate: number | null;
  /** 延期率 = 延期数 ÷ 应处置数. */
  readonly extensionRate: number | null;
  /** Mean seconds: registration → dispatch, dispatch → accept, accept → handled, registration → closed. */
  readonly meanDispatchS: number | null;
  readonly meanAcceptS: number | null;
  readonly meanHandleS: number | null;
  readonly meanCloseS: number | null;
}

/**
 * KPIs of domain.md ("KPIs", Jinhua / Jinniu evaluation rules) over the cases
 * registered in [from, to), evaluated as of `asOf`. Formulas: docs/cases.md.
 */
export async function caseKpis(
  db: Queryable,
  q: {
    groupBy: KpiGrouping;
    from: string;
    to: string;
    asOf: string;
    area?: string | null;
    /** IANA time zone of the city (CITY_TIMEZONE), for months. */
    timeZone: string;
  },
): Promise<KpiRow[]> {
  const rate = (num: string, den: string) =>
    `round(${num}::numeric / nullif(${den}, 0), 4)::float8`;
  const { rows } = await db.query<KpiRow>(
    `WITH base AS (
       SELECT c.*, ${groupKey[q.groupBy]} AS key,
              (c.state <> 'cancelled' AND (c.due_at <= $3 OR c.handled_at IS NOT NULL)) AS is_due
       FROM cases c
       WHERE c.created_at >= $1 AND c.created_at < $2
         AND ($4::text IS NULL OR c.grid_code LIKE $4 || '%')
         AND $5::text IS NOT NULL -- typed even when no month key uses it
     ), counts AS (
       SELECT key,
         count(*) FILTER (WHERE state <> 'cancelled')::int AS registered,
         count(*) FILTER (WHERE is_due)::int AS due,
         count(*) FILTER (WHERE is_due AND state = 'deferred')::int AS deferred,
         count(*) FILTER (WHERE is_due AND state = 'closed')::int AS closed,
         count(*) FILTER (WHERE is_due AND state = 'closed' AND closed_at <= due_at)::int AS closed_on_time,
         count(*) FILTER (WHERE is_due AND handled_at IS NOT NULL)::int AS handled,
         count(*) FILTER (WHERE is_due AND handled_at <= due_at)::int AS handled_on_time,
         count(*) FILTER (WHERE is_due AND rework_count > 0)::int AS reworked,
         count(*) FILTER (WHERE is_due AND handled_at IS NULL AND state <> 'deferred')::int AS overdue_pending,
         count(*) FILTER (WHERE is_due AND extension_count > 0)::int AS extended,
         avg(extract(epoch FROM dispatched_at - created_at))::float8 AS mean_dispatch_s,
         avg(extract(epoch FROM accepted_at - dispatched_at))::float8 AS mean_accept_s,
         avg(extract(epoch FROM handled_at - accepted_at))::float8 AS mean_handle_s,
         avg(extract(epoch FROM closed_at - created_at))::float8 AS mean_close_s
       FROM base GROUP BY key
     )
     SELECT key, registered, due, deferred, closed, closed_on_time AS "closedOnTime", handled,
       handled_on_time AS "handledOnTime", reworked, overdue_pending AS "overduePending", extended,
       ${rate('closed', 'due - deferred')} AS "closureRate",
       ${rate('closed_on_time', 'due - deferred')} AS "onTimeClosureRate",
       ${rate('handled', 'due')} AS "handlingRate",
       ${rate('handled_on_time', 'due')} AS "onTimeHandlingRate",
       ${rate('reworked', 'due')} AS "reworkRate",
       ${rate('overdue_pending', 'due')} AS "overduePendingRate",
       ${rate('extended', 'due')} AS "extensionRate",
       mean_dispatch_s AS "meanDispatchS", mean_accept_s AS "meanAcceptS",
       mean_handle_s AS "meanHandleS", mean_close_s AS "meanCloseS"
     FROM counts ORDER BY key NULLS LAST`,
    [q.from, q.to, q.asOf, q.area ?? null, q.timeZone],
  );
  return rows;
}
