import { getRule, lightingRates, type LightingRateRow, type Queryable } from '../db/index.js';
import type { AreaLevel } from '../domain/index.js';
import { cityLightingHours, isLightingTime, offsetAt, type LightingHours } from '../rules/index.js';

/**
 * The lighting rate (亮灯率) over a period, as the KPI route, the evaluation
 * and the reports all read it: the 5-minute buckets inside the lighting
 * rule's hours, each lamp due in each (docs/cases.md, "Facility KPIs").
 */

const bucketMs = 300_000;

/** The rule whose schedule and dark threshold the lighting rate follows (rules engine, issue #4). */
const lightingRuleId = 'streetlight.lighting_rate_district';

export async function lightingSettings(
  db: Queryable,
): Promise<{ hours: LightingHours; darkCurrentA: number }> {
  const rule = await getRule(db, lightingRuleId);
  const s = (rule?.settings ?? {}) as { hours?: LightingHours; darkCurrentA?: number };
  return { hours: s.hours ?? cityLightingHours, darkCurrentA: s.darkCurrentA ?? 0.05 };
}

/** The local date of the evening a lighting bucket belongs to: dawn counts to the night before. */
export function nightOf(ms: number, hours: LightingHours): string {
  return new Date(ms + offsetAt(ms, hours) - 12 * 3_600_000).toISOString().slice(0, 10);
}

/**
 * Lighting rates per area over [fromMs, toMs), by night, by month, or as one
 * figure for the whole span (`by: 'span'`, period label `span`).
 */
export async function lightingRateOver(
  db: Queryable,
  q: {
    level: AreaLevel;
    area?: string | null;
    fromMs: number;
    toMs: number;
    by: 'night' | 'month' | 'span';
    /** The lighting rule's settings when the caller has read them already. */
    settings?: { hours: LightingHours; darkCurrentA: number };
  },
): Promise<LightingRateRow[]> {
  const { hours, darkCurrentA } = q.settings ?? (await lightingSettings(db));
  // The 5-minute buckets inside lighting hours, judged at their middle.
  const buckets: { ms: number; period: string }[] = [];
  for (let ms = Math.ceil(q.fromMs / bucketMs) * bucketMs; ms < q.toMs; ms += bucketMs) {
    if (!isLightingTime(ms + bucketMs / 2, hours)) continue;
    const night = nightOf(ms, hours);
    buckets.push({
      ms,
      period: q.by === 'night' ? night : q.by === 'month' ? night.slice(0, 7) : 'span',
    });
  }
  return lightingRates(db, { level: q.level, area: q.area, buckets, darkCurrentA });
}
