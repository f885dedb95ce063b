import { areaAt, severitySchema, type Severity } from '../../domain/index.js';
import type { ActiveCondition, FleetMember, SettingsOf, TickKind } from './fleet.js';
import { isLit } from './lamp-off.js';
import { isLightingTime, lightingHoursSchema, type LightingHours } from './schedule.js';

/**
 * Group ratio: lighting rate (亮灯率 = lamps lit ÷ lamps that should be lit)
 * per road, street or district, while the lighting schedule says "on", against
 * its target (seed 002: ≥ 98 %). Roads under 200 lamps are judged by a count
 * of dark lamps instead (Changsha's assessment as domain.md quotes it:
 * 150–199 lamps: 4; 100–149: 3; ≤ 99: 2), so one dark lamp on a short road
 * does not misfire. Lamps with no reading yet are left out: silence is the
 * offline rule's business; so are lamps whose own schedule (their
 * `streetlight.dark` rule with overrides, e.g. a dark-sky zone) wants them off. Below target for `forSeconds`: one group alarm.
 */

export interface GroupRatioSettings {
  /** A road (devices.attrs.road within its district), a street (街道, 9-digit grid prefix) or a district. */
  readonly groupBy: 'road' | 'street' | 'district';
  /** Target ratio, 0–1. */
  readonly target: number;
  readonly forSeconds: number;
  readonly hours: LightingHours;
  readonly darkCurrentA: number;
  /** Ascending by maxLamps; a group over the last maxLamps uses the ratio. */
  readonly darkLampLimits?: readonly { readonly maxLamps: number; readonly maxDark: number }[];
  readonly severity: Severity;
}

export const groupRatioSettingsSchema = {
  type: 'object',
  required: ['groupBy', 'target', 'forSeconds', 'hours', 'darkCurrentA', 'severity'],
  additionalProperties: false,
  properties: {
    groupBy: { enum: ['road', 'street', 'district'] },
    target: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
    forSeconds: { type: 'number', minimum: 0, maximum: 86400 },
    hours: lightingHoursSchema,
    darkCurrentA: { type: 'number', minimum: 0 },
    darkLampLimits: {
      type: 'array',
      items: {
        type: 'object',
        required: ['maxLamps', 'maxDark'],
        additionalProperties: false,
        properties: {
          maxLamps: { type: 'integer', minimum: 1 },
          maxDark: { type: 'integer', minimum: 0 },
        },
      },
    },
    severity: severitySchema,
  },
} as const;

interface Group {
  total: number;
  dark: number;
  gridCode: string;
  /** This group's settings (overrides merged in); null: disabled here or outside its lighting hours. */
  s: GroupRatioSettings | null;
}

function active(
  members: readonly FleetMember[],
  s: GroupRatioSettings,
  now: number,
  at?: SettingsOf<GroupRatioSettings>,
): ActiveCondition[] {
  if (!at && !isLightingTime(now, s.hours)) return [];
  const groups = new Map<string, Group>();
  // Area and group key per grid, once per tick: no string built per lamp (100,000 of them).
  const byGrid = new Map<string, { district: string; area: string; key: string }>();
  for (const m of members) {
    // A lamp its own schedule wants off (a dark-sky zone at night) is not "should be lit".
    if (m.type !== 'streetlight' || !m.last || m.dueOn === false) continue;
    // The grouping is the rule's own: an override changes a group's target, not what a group is.
    if (s.groupBy === 'road' && !m.road) continue;
    let grid = byGrid.get(m.gridCode);
    if (!grid) {
      const district = areaAt(m.gridCode, 'district') ?? m.gridCode;
      const area = s.groupBy === 'street' ? (areaAt(m.gridCode, 'street') ?? m.gridCode) : district;
      byGrid.set(m.gridCode, (grid = { district, area, key: `${s.groupBy}:${area}` }));
    }
    const { district, area } = grid;
    const key = s.groupBy === 'road' ? `road:${district}:${m.road}` : grid.key;
    let g = groups.get(key);
    if (!g) {
      const gs = at ? at({ id: key, gridCode: area, site: null }) : s;
      const due = gs !== null && (!at || isLightingTime(now, gs.hours));
      groups.set(key, (g = { total: 0, dark: 0, gridCode: area, s: due ? gs : null }));
    }
    if (!g.s) continue;
    const lit = isLit(m.last, g.s.darkCurrentA);
    if (lit === null) continue;
    g.total++;
    if (!lit) g.dark++;
  }
  const out: ActiveCondition[] = [];
  for (const [source, g] of groups) {
    const gs = g.s;
    if (!gs || g.total === 0) continue;
    const limit = gs.darkLampLimits?.find((l) => g.total <= l.maxLamps);
    const rate = Math.round(((g.total - g.dark) / g.total) * 10_000) / 100;
    const target = Math.round(gs.target * 10_000) / 100;
    const below = limit ? g.dark > limit.maxDark : rate < target;
    if (!below) continue;
    out.push({
      source,
      sourceKind: s.groupBy,
      deviceId: null,
      gridCode: g.gridCode,
      value: limit ? g.dark : rate,
      threshold: limit ? limit.maxDark : target,
      severity: gs.severity,
      firstMs: now,
      detail: limit
        ? `${g.dark} dark of ${g.total} lamps (at most ${limit.maxDark})`
        : `lighting rate ${rate} % of ${g.total} lamps (target ${target} %)`,
      ...(gs.forSeconds !== s.forSeconds && { holdS: gs.forSeconds }),
    });
  }
  return out;
}

export const groupRatioKind: TickKind<GroupRatioSettings> = {
  settingsSchema: groupRatioSettingsSchema,
  active,
  forSecondsOf: (s) => s.forSeconds,
};
