import { areaCodeLength } from '../domain/index.js';
import type { Queryable } from './pool.js';

export const kpiGroupings = [
  'grid',
  'community',
  'street',
  'district',
  'department',
  'crew',
  'city',
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
  crew: 'c.crew_id',
  // One row for the whole city, cases without a grid code included.
  city: `(SELECT a.code FROM areas a WHERE a.level = 'city' ORDER BY a.code LIMIT 1)`,
  // The city's months (CITY_TIMEZONE), bound as parameter $5.
  month: `to_char(c.created_at AT TIME ZONE $5::text, 'YYYY-MM')`,
};

export interface KpiRow {
  readonly key: string | null;
  /** 立案数: cases registered in the period, cancelled (作废) ones excluded. */
  readonly registered: number;
  /** 派遣数: registered cases dispatched by `asOf`. */
  readonly dispatched: number;
  /** Dispatched once and never reassigned (改派) or returned (退回) by `asOf`. */
  readonly dispatchedAccurately: number;
  /** Registered cases by source: an alarm (sensors), the 12345 hotline, an inspection. */
  readonly fromSensors: number;
  readonly fromHotline: number;
  readonly fromInspection: number;
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
  /** 派遣准确率 = dispatched accurately ÷ dispatched. */
  readonly accurateDispatchRate: number | null;
  /** Mean seconds: registration → dispatch, dispatch → accept, accept → handled, registration → closed. */
  readonly meanDispatchS: number | null;
  readonly meanAcceptS: number | null;
  readonly meanHandleS: number | null;
  readonly meanCloseS: number | null;
  /** Mean seconds from registration to handled (反馈), over the cases handled by `asOf`. */
  readonly meanHandledAfterS: number | null;
}

/**
 * KPIs of domain.md ("KPIs", Jinhua / Jinniu evaluation rules) over the cases
 * registered in [from, to), evaluated as of `asOf`: a case counts as
 * dispatched, handled or closed when that happened by `asOf`, so a period's
 * figures do not move when its cases are closed later. Formulas:
 * docs/cases.md and docs/evaluation.md.
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
    `WITH redo AS (
       SELECT e.case_id, count(*)::int AS redispatches
       FROM case_events e JOIN cases c ON c.id = e.case_id
       WHERE c.created_at >= $1 AND c.created_at < $2 AND e.at <= $3
         AND e.action IN ('reassign', 'return')
       GROUP BY e.case_id
     ), base AS (
       SELECT c.*, ${groupKey[q.groupBy]} AS key,
              c.handled_at <= $3 AS handled_by,
              coalesce(r.redispatches, 0) AS redispatches,
              (c.state <> 'cancelled' AND (c.due_at <= $3 OR c.handled_at <= $3)) AS is_due
       FROM cases c LEFT JOIN redo r ON r.case_id = c.id
       WHERE c.created_at >= $1 AND c.created_at < $2
         AND ($4::text IS NULL OR c.grid_code LIKE $4 || '%')
         AND $5::text IS NOT NULL -- typed even when no month key uses it
     ), counts AS (
       SELECT key,
         count(*) FILTER (WHERE state <> 'cancelled')::int AS registered,
         count(*) FILTER (WHERE state <> 'cancelled' AND dispatched_at <= $3)::int AS dispatched,
         count(*) FILTER (WHERE state <> 'cancelled' AND dispatched_at <= $3 AND redispatches = 0)::int
           AS dispatched_accurately,
         count(*) FILTER (WHERE state <> 'cancelled' AND source = 'alarm')::int AS from_sensors,
         count(*) FILTER (WHERE state <> 'cancelled' AND source = 'hotline')::int AS from_hotline,
         count(*) FILTER (WHERE state <> 'cancelled' AND source = 'inspection')::int AS from_inspection,
         count(*) FILTER (WHERE is_due)::int AS due,
         count(*) FILTER (WHERE is_due AND state = 'deferred' AND coalesce(deferred_at <= $3, true))::int AS deferred,
         count(*) FILTER (WHERE is_due AND closed_at <= $3)::int AS closed,
         count(*) FILTER (WHERE is_due AND closed_at <= $3 AND closed_at <= due_at)::int AS closed_on_time,
         count(*) FILTER (WHERE is_due AND handled_by)::int AS handled,
         count(*) FILTER (WHERE is_due AND handled_by AND handled_at <= due_at)::int AS handled_on_time,
         count(*) FILTER (WHERE is_due AND rework_count > 0)::int AS reworked,
         count(*) FILTER (WHERE is_due AND handled_by IS NOT TRUE
           AND NOT (state = 'deferred' AND coalesce(deferred_at <= $3, true)))::int AS overdue_pending,
         count(*) FILTER (WHERE is_due AND extension_count > 0)::int AS extended,
         avg(extract(epoch FROM dispatched_at - created_at))::float8 AS mean_dispatch_s,
         avg(extract(epoch FROM accepted_at - dispatched_at))::float8 AS mean_accept_s,
         avg(extract(epoch FROM handled_at - accepted_at))::float8 AS mean_handle_s,
         avg(extract(epoch FROM closed_at - created_at))::float8 AS mean_close_s,
         avg(extract(epoch FROM handled_at - created_at)) FILTER (WHERE handled_by)::float8
           AS mean_handled_after_s
       FROM base GROUP BY key
     )
     SELECT key, registered, dispatched, dispatched_accurately AS "dispatchedAccurately",
       from_sensors AS "fromSensors", from_hotline AS "fromHotline",
       from_inspection AS "fromInspection", due, deferred, closed, closed_on_time AS "closedOnTime", handled,
       handled_on_time AS "handledOnTime", reworked, overdue_pending AS "overduePending", extended,
       ${rate('closed', 'due - deferred')} AS "closureRate",
       ${rate('closed_on_time', 'due - deferred')} AS "onTimeClosureRate",
       ${rate('handled', 'due')} AS "handlingRate",
       ${rate('handled_on_time', 'due')} AS "onTimeHandlingRate",
       ${rate('reworked', 'due')} AS "reworkRate",
       ${rate('overdue_pending', 'due')} AS "overduePendingRate",
       ${rate('extended', 'due')} AS "extensionRate",
       ${rate('dispatched_accurately', 'dispatched')} AS "accurateDispatchRate",
       mean_dispatch_s AS "meanDispatchS", mean_accept_s AS "meanAcceptS",
       mean_handle_s AS "meanHandleS", mean_close_s AS "meanCloseS",
       mean_handled_after_s AS "meanHandledAfterS"
     FROM counts ORDER BY key NULLS LAST`,
    [q.from, q.to, q.asOf, q.area ?? null, q.timeZone],
  );
  return rows;
}

/** Registration and handling instants of the cases handled by `asOf`, per key: for mean handling times in working time. */
export async function handlingSpans(
  db: Queryable,
  q: {
    groupBy: KpiGrouping;
    from: string;
    to: string;
    asOf: string;
    area?: string | null;
    timeZone: string;
  },
): Promise<{ key: string | null; createdAt: string; handledAt: string }[]> {
  const { rows } = await db.query<{ key: string | null; createdAt: string; handledAt: string }>(
    `SELECT ${groupKey[q.groupBy]} AS key, to_json(c.created_at)#>>'{}' AS "createdAt",
       to_json(c.handled_at)#>>'{}' AS "handledAt"
     FROM cases c
     WHERE c.created_at >= $1 AND c.created_at < $2 AND c.handled_at <= $3 AND c.state <> 'cancelled'
       AND ($4::text IS NULL OR c.grid_code LIKE $4 || '%')
       AND $5::text IS NOT NULL`,
    [q.from, q.to, q.asOf, q.area ?? null, q.timeZone],
  );
  return rows;
}

/** The commonest problems: registered cases per facility type and rule, most first. */
export async function topProblems(
  db: Queryable,
  q: { from: string; to: string; area?: string | null; limit: number },
): Promise<{ facilityType: string | null; ruleId: string | null; title: string; cases: number }[]> {
  const { rows } = await db.query<{
    facilityType: string | null;
    ruleId: string | null;
    title: string;
    cases: number;
  }>(
    `SELECT c.facility_type AS "facilityType", a.rule_id AS "ruleId",
       min(c.title) AS title, count(*)::int AS cases
     FROM cases c LEFT JOIN alarms a ON a.id = c.alarm_id
     WHERE c.created_at >= $1 AND c.created_at < $2 AND c.state <> 'cancelled'
       AND ($3::text IS NULL OR c.grid_code LIKE $3 || '%')
     -- A case without an alarm (a hotline call, an inspection) is its own problem type by title.
     GROUP BY c.facility_type, a.rule_id, CASE WHEN a.rule_id IS NULL THEN c.title END
     ORDER BY cases DESC, 1 NULLS LAST, 2 NULLS LAST, 3 LIMIT $4`,
    [q.from, q.to, q.area ?? null, q.limit],
  );
  return rows;
}

/** Hotspot grids: the grids with the most registered cases. */
export async function hotspotGrids(
  db: Queryable,
  q: { from: string; to: string; area?: string | null; limit: number },
): Promise<{ gridCode: string; name: string | null; cases: number }[]> {
  const { rows } = await db.query<{ gridCode: string; name: string | null; cases: number }>(
    `SELECT c.grid_code AS "gridCode", min(g.name) AS name, count(*)::int AS cases
     FROM cases c LEFT JOIN areas g ON g.code = c.grid_code
     WHERE c.created_at >= $1 AND c.created_at < $2 AND c.state <> 'cancelled'
       AND c.grid_code IS NOT NULL AND ($3::text IS NULL OR c.grid_code LIKE $3 || '%')
     GROUP BY 1 ORDER BY cases DESC, 1 LIMIT $4`,
    [q.from, q.to, q.area ?? null, q.limit],
  );
  return rows;
}
