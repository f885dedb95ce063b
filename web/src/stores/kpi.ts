import type { AreaLevel } from '@domain/grid.js';

/** Drill-down city → district → street → community → grid (issue #13). */
export const drillLevels: readonly AreaLevel[] = ['district', 'street', 'community', 'grid'];

export interface Drill {
  /** The level of the cards shown. */
  readonly level: AreaLevel;
  /** The area they are inside; null for the whole city. */
  readonly area: string | null;
}

export const top: Drill = { level: 'district', area: null };

/** One level down into a card's area, or null at the grid. */
export function drillInto(d: Drill, area: string): Drill | null {
  const i = drillLevels.indexOf(d.level);
  const next = drillLevels[i + 1];
  return next ? { level: next, area } : null;
}

/** One level up: the parent area by code length (6 / 9 / 12 / 15 digits). */
export function drillUp(d: Drill): Drill {
  const i = drillLevels.indexOf(d.level);
  if (i <= 0 || !d.area) return top;
  const parentLen = d.area.length - 3;
  return { level: drillLevels[i - 1]!, area: parentLen >= 6 ? d.area.slice(0, parentLen) : null };
}

/** "96.4 %" or "—". */
export const percent = (r: number | null | undefined): string =>
  r === null || r === undefined ? '—' : `${(r * 100).toFixed(1)} %`;

/** How a card shows a rate against its target: met, not met, or no figure to judge. */
export type Verdict = 'met' | 'below' | 'none';

/** A rate against its catalog target (`min`: at least the value; `max`: at most). */
export function judge(
  rate: number | null | undefined,
  target: { value: number; direction: 'min' | 'max' } | undefined,
): Verdict {
  const ok = meets(rate, target?.value, target?.direction === 'max');
  return ok === null ? 'none' : ok ? 'met' : 'below';
}

/** Whether a rate meets its target: higher is better except for the rework rate. */
export function meets(
  rate: number | null | undefined,
  target: number | undefined,
  lowerIsBetter = false,
) {
  if (rate === null || rate === undefined || target === undefined) return null;
  return lowerIsBetter ? rate <= target : rate >= target;
}
