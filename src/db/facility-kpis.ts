import { areaCodeLength, facilityCatalog, type AreaLevel } from '../domain/index.js';
import type { Queryable } from './pool.js';

/**
 * Facility KPIs of domain.md ("KPIs": lighting rate, facility integrity rate
 * and online rate per facility type) per area of the four-level network.
 * Formulas: docs/cases.md, "Facility KPIs".
 */

/** SQL key of a device's area at each level; grid codes are 6 + 3 + 3 + 3 digits (domain/grid.ts). */
const areaKey: Record<AreaLevel, string> = {
  grid: 'd.grid_code',
  community: `left(d.grid_code, ${areaCodeLength.community})`,
  street: `left(d.grid_code, ${areaCodeLength.street})`,
  district: `left(d.grid_code, ${areaCodeLength.district})`,
  // The city is not a prefix of grid codes: it is the district's parent.
  city: `(SELECT a.parent_code FROM areas a WHERE a.code = left(d.grid_code, ${areaCodeLength.district}))`,
};

export interface FacilityCounts {
  /** Enabled devices (facilities). */
  readonly facilities: number;
  /** Not intact: an open 部件 (component) case not yet reported fixed. */
  readonly faulty: number;
  /** Reported within 3 × the type's reporting interval before `asOf`. */
  readonly online: number;
  /** 设施完好率 = (facilities − faulty) ÷ facilities. */
  readonly integrityRate: number | null;
  /** 在线率 = online ÷ facilities. */
  readonly onlineRate: number | null;
  /** Streetlights only: lamps due on (all enabled lamps, faults and silent lamps included). */
  readonly lampsDue?: number;
  /** Streetlights only: lamps whose fresh latest reading says lit. */
  readonly lampsLit?: number;
  /** 亮灯率 = lamps lit ÷ lamps due on; null outside lighting hours. */
  readonly lightingRate?: number | null;
}

export interface FacilityKpiRow extends FacilityCounts {
  readonly area: string | null;
  readonly name: string | null;
  readonly byType: Record<string, FacilityCounts>;
}

const rate = (num: number, den: number): number | null =>
  den === 0 ? null : Math.round((num / den) * 10_000) / 10_000;

const zero = { facilities: 0, faulty: 0, online: 0 };

/** Only where a faulty component is still waiting for its fix. */
const unfixedStates = `('registered', 'dispatched', 'in_handling', 'returned', 'deferred')`;

/**
 * The snapshot at `asOf`: counts per area and facility type in one statement,
 * totals and rates in JS. `lightingTime` says whether the lighting schedule
 * (the rules' lighting hours) wants the lamps on at `asOf`.
 */
export async function facilityKpis(
  db: Queryable,
  q: {
    level: AreaLevel;
    area?: string | null;
    type?: string | null;
    asOf: string;
    lightingTime: boolean;
    darkCurrentA: number;
  },
): Promise<FacilityKpiRow[]> {
  const intervals = Object.fromEntries(
    Object.values(facilityCatalog).map((f) => [f.type, f.reportingIntervalS]),
  );
  const { rows } = await db.query<{
    area: string | null;
    name: string | null;
    type: string;
    facilities: number;
    faulty: number;
    online: number;
    lit: number;
  }>(
    `WITH faulty AS (
       SELECT DISTINCT c.device_id FROM cases c
       WHERE c.device_id IS NOT NULL AND c.kind = 'component'
         AND c.state IN ${unfixedStates} AND c.created_at <= $3
     ), dev AS (
       SELECT d.id, d.type, ${areaKey[q.level]} AS area, l.data, f.device_id IS NOT NULL AS faulty,
         l.time > $3::timestamptz - make_interval(secs => 3 * coalesce(($4::jsonb ->> d.type)::float8, 300))
           AND l.time <= $3::timestamptz AS fresh
       FROM devices d LEFT JOIN device_latest l ON l.device_id = d.id
       LEFT JOIN faulty f ON f.device_id = d.id
       WHERE d.enabled AND ($1::text IS NULL OR d.grid_code LIKE $1 || '%')
         AND ($2::text IS NULL OR d.type = $2)
     )
     SELECT dev.area, a.name, dev.type,
       count(*)::int AS facilities,
       count(*) FILTER (WHERE dev.faulty)::int AS faulty,
       count(*) FILTER (WHERE dev.fresh)::int AS online,
       count(*) FILTER (WHERE dev.fresh AND dev.type = 'streetlight' AND CASE
         WHEN jsonb_typeof(dev.data -> 'current') = 'number' THEN (dev.data ->> 'current')::float8 > $5
         WHEN jsonb_typeof(dev.data -> 'on') = 'boolean' THEN dev.data -> 'on' = 'true'::jsonb
         ELSE false END)::int AS lit
     FROM dev LEFT JOIN areas a ON a.code = dev.area
     GROUP BY dev.area, a.name, dev.type
     ORDER BY dev.area NULLS LAST, dev.type`,
    [q.area ?? null, q.type ?? null, q.asOf, JSON.stringify(intervals), q.darkCurrentA],
  );

  const out = new Map<string | null, FacilityKpiRow>();
  const withRates = (c: {
    facilities: number;
    faulty: number;
    online: number;
    lampsDue?: number;
    lampsLit?: number;
  }): FacilityCounts => ({
    facilities: c.facilities,
    faulty: c.faulty,
    online: c.online,
    integrityRate: rate(c.facilities - c.faulty, c.facilities),
    onlineRate: rate(c.online, c.facilities),
    ...(c.lampsDue === undefined
      ? {}
      : {
          lampsDue: c.lampsDue,
          lampsLit: c.lampsLit,
          lightingRate: q.lightingTime ? rate(c.lampsLit ?? 0, c.lampsDue) : null,
        }),
  });
  const totals = new Map<
    string | null,
    { facilities: number; faulty: number; online: number; lampsDue?: number; lampsLit?: number }
  >();
  for (const r of rows) {
    let row = out.get(r.area);
    if (!row) {
      row = { area: r.area, name: r.name, byType: {}, ...withRates(zero) };
      out.set(r.area, row);
      totals.set(r.area, { facilities: 0, faulty: 0, online: 0 });
    }
    const lamps =
      r.type === 'streetlight' ? { lampsDue: r.facilities, lampsLit: r.lit } : undefined;
    row.byType[r.type] = withRates({ ...r, ...lamps });
    const t = totals.get(r.area)!;
    t.facilities += r.facilities;
    t.faulty += r.faulty;
    t.online += r.online;
    if (lamps) Object.assign(t, lamps);
  }
  return [...out.values()].map((row) => ({
    area: row.area,
    name: row.name,
    ...withRates(totals.get(row.area)!),
    byType: row.byType,
  }));
}

export interface LightingRateRow {
  readonly area: string | null;
  readonly name: string | null;
  /** The night (local date of its evening, YYYY-MM-DD) or the month (YYYY-MM). */
  readonly period: string;
  /** Lamp × 5-minute buckets due on: lamps × buckets inside lighting hours. */
  readonly due: number;
  /** Of those, lit (a bucket's `on` share, or its mean current over the dark threshold). */
  readonly lit: number;
  /** 亮灯率 = lit ÷ due. */
  readonly lightingRate: number | null;
}

/**
 * Lighting rate over a period from the 5-minute rollups (`telemetry_5m`, kept
 * by the hub on every kind of server): for each bucket inside lighting hours,
 * every enabled lamp of the area is due; it counts as lit by its bucket's mean
 * current over `darkCurrentA`, else by the share of readings with `on`. A lamp
 * with no rollup in a bucket is due and not lit. `buckets` are the 5-minute
 * buckets inside lighting hours (epoch ms) with the period each belongs to.
 */
export async function lightingRates(
  db: Queryable,
  q: {
    level: AreaLevel;
    area?: string | null;
    buckets: readonly { ms: number; period: string }[];
    darkCurrentA: number;
  },
): Promise<LightingRateRow[]> {
  if (q.buckets.length === 0) return [];
  const { rows } = await db.query<{
    area: string | null;
    name: string | null;
    period: string;
    due: number;
    lit: number;
  }>(
    `WITH lb AS (
       SELECT to_timestamp(b / 1000.0) AS bucket, p AS period
       FROM unnest($2::float8[], $3::text[]) AS x(b, p)
     ), lamps AS (
       SELECT d.id, ${areaKey[q.level]} AS area FROM devices d
       WHERE d.enabled AND d.type = 'streetlight' AND ($1::text IS NULL OR d.grid_code LIKE $1 || '%')
     ), per_lamp AS (
       SELECT r.device_id, r.bucket,
         sum(r.sum) FILTER (WHERE r.metric = 'current') / nullif(sum(r.n) FILTER (WHERE r.metric = 'current'), 0) AS current,
         sum(r.sum) FILTER (WHERE r.metric = 'on') / nullif(sum(r.n) FILTER (WHERE r.metric = 'on'), 0) AS on_share
       FROM telemetry_5m r JOIN lamps ON lamps.id = r.device_id
       WHERE r.metric IN ('current', 'on')
         AND r.bucket >= to_timestamp($4 / 1000.0) AND r.bucket <= to_timestamp($5 / 1000.0)
       GROUP BY 1, 2
     ), lit AS (
       SELECT lamps.area, lb.period,
         sum(CASE WHEN p.current IS NOT NULL THEN (p.current > $6)::int::float8 ELSE p.on_share END) AS lit
       FROM per_lamp p JOIN lb ON lb.bucket = p.bucket JOIN lamps ON lamps.id = p.device_id
       GROUP BY 1, 2
     ), due AS (
       SELECT l.area, b.period, (count(DISTINCT l.id) * b.n)::int AS due
       FROM lamps l CROSS JOIN (SELECT period, count(*) AS n FROM lb GROUP BY period) b
       GROUP BY l.area, b.period, b.n
     )
     SELECT due.area, a.name, due.period, due.due, coalesce(lit.lit, 0)::float8 AS lit
     FROM due LEFT JOIN lit ON lit.area IS NOT DISTINCT FROM due.area AND lit.period = due.period
     LEFT JOIN areas a ON a.code = due.area
     ORDER BY due.area NULLS LAST, due.period`,
    [
      q.area ?? null,
      q.buckets.map((b) => b.ms),
      q.buckets.map((b) => b.period),
      q.buckets[0]!.ms,
      q.buckets[q.buckets.length - 1]!.ms,
      q.darkCurrentA,
    ],
  );
  return rows.map((r) => ({
    ...r,
    lit: Math.round(r.lit * 1000) / 1000,
    lightingRate: rate(r.lit, r.due),
  }));
}
