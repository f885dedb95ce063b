import {
  facilityTypes,
  severitySchema,
  type FacilityType,
  type Severity,
} from '../../domain/index.js';
import type { ActiveCondition, FleetMember, SettingsOf, TickKind } from './fleet.js';

/**
 * Facility integrity rate (设施完好率 = facilities in good order ÷ facilities),
 * per district or street, for one facility type, against its target (seeds
 * 001 and 003: 道路照明设施完好率达到95%以上). A facility is out of order while
 * one of the `faultRules` has an alarm open on it (a dark lamp, a leaking
 * one). Devices that never reported are left out, as are groups under
 * `minDevices` (one fault in 19 would already break 95 %). Below target for
 * `forSeconds`: one group alarm.
 */

export interface IntegritySettings {
  readonly facilityType: FacilityType;
  readonly groupBy: 'district' | 'street';
  /** Target ratio, 0–1. */
  readonly target: number;
  /** Device rules whose open alarm means the facility is not in good order. */
  readonly faultRules: readonly string[];
  readonly minDevices: number;
  readonly forSeconds: number;
  readonly severity: Severity;
}

export const integritySettingsSchema = {
  type: 'object',
  required: [
    'facilityType',
    'groupBy',
    'target',
    'faultRules',
    'minDevices',
    'forSeconds',
    'severity',
  ],
  additionalProperties: false,
  properties: {
    facilityType: { enum: [...facilityTypes] },
    groupBy: { enum: ['district', 'street'] },
    target: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
    faultRules: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
    minDevices: { type: 'integer', minimum: 1 },
    forSeconds: { type: 'number', minimum: 0, maximum: 86400 },
    severity: severitySchema,
  },
} as const;

function active(
  members: readonly FleetMember[],
  s: IntegritySettings,
  now: number,
  at?: SettingsOf<IntegritySettings>,
): ActiveCondition[] {
  const width = s.groupBy === 'district' ? 6 : 9;
  const groups = new Map<string, { total: number; faulty: number }>();
  for (const m of members) {
    if (m.type !== s.facilityType || !m.last) continue;
    const area = m.gridCode.slice(0, width);
    let g = groups.get(area);
    if (!g) groups.set(area, (g = { total: 0, faulty: 0 }));
    g.total++;
    if (m.open.some((id) => s.faultRules.includes(id))) g.faulty++;
  }
  const out: ActiveCondition[] = [];
  for (const [area, g] of groups) {
    const source = `${s.groupBy}:${area}`;
    // The grouping (type, district or street, fault rules) is the rule's own; an override moves the bar.
    const gs = at ? at({ id: source, gridCode: area, site: null }) : s;
    if (!gs || g.total < gs.minDevices) continue;
    const rate = Math.round(((g.total - g.faulty) / g.total) * 10_000) / 100;
    const target = Math.round(gs.target * 10_000) / 100;
    if (rate >= target) continue;
    out.push({
      source,
      sourceKind: s.groupBy,
      deviceId: null,
      gridCode: area,
      value: rate,
      threshold: target,
      severity: gs.severity,
      firstMs: now,
      detail: `integrity ${rate} %: ${g.faulty} of ${g.total} ${s.facilityType} out of order (target ${target} %)`,
      ...(gs.forSeconds !== s.forSeconds && { holdS: gs.forSeconds }),
    });
  }
  return out;
}

export const integrityKind: TickKind<IntegritySettings> = {
  settingsSchema: integritySettingsSchema,
  active,
  forSecondsOf: (s) => s.forSeconds,
};
