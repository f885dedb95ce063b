import { parseGridCode, severitySchema, type Severity } from '../../domain/index.js';
import type { ActiveCondition, FleetMember, SettingsOf, TickKind } from './fleet.js';

/**
 * Absence: no message for `factor` × the reporting interval (domain.md "All
 * types": 3×, minor). Correlated: when at least `areaRatio` of a street's (or
 * else a grid's) devices are silent, that is one area alarm (major: a power
 * or network outage), and the silent devices inside it raise nothing of
 * their own — 300 dark devices of one street are one alarm, not 300.
 */

export interface OfflineSettings {
  readonly factor: number;
  /** An area needs at least this many devices before it can be "offline" as a whole. */
  readonly areaMinDevices: number;
  readonly areaRatio: number;
  /**
   * A silent device waits this long before its own alarm, so that an outage
   * has time to show as an area (a lamp reporting every 5 min is silent only
   * after 15 min): without it, the 1-min devices of a dark street would each
   * open an alarm before the street does. Default 900 s.
   */
  readonly correlationS?: number;
  readonly deviceSeverity: Severity;
  readonly areaSeverity: Severity;
}

export const offlineSettingsSchema = {
  type: 'object',
  required: ['factor', 'areaMinDevices', 'areaRatio', 'deviceSeverity', 'areaSeverity'],
  additionalProperties: false,
  properties: {
    factor: { type: 'number', minimum: 1, maximum: 100 },
    areaMinDevices: { type: 'integer', minimum: 2 },
    areaRatio: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
    correlationS: { type: 'number', minimum: 0, maximum: 86400 },
    deviceSeverity: severitySchema,
    areaSeverity: severitySchema,
  },
} as const;

interface Tally {
  total: number;
  silent: FleetMember[];
}

function tally(map: Map<string, Tally>, key: string, m: FleetMember, silent: boolean): void {
  let t = map.get(key);
  if (!t) map.set(key, (t = { total: 0, silent: [] }));
  t.total++;
  if (silent) t.silent.push(m);
}

function active(
  members: readonly FleetMember[],
  s: OfflineSettings,
  now: number,
  at?: SettingsOf<OfflineSettings>,
): ActiveCondition[] {
  const streets = new Map<string, Tally>();
  const grids = new Map<string, Tally>();
  // A device's own settings (factor, hold, severity) with its grid's, district's, site's and
  // its own overrides; `at` memoises them per device.
  const own = (m: FleetMember) =>
    at ? at({ id: m.id, gridCode: m.gridCode, site: m.site ?? null }) : s;
  for (const m of members) {
    const ms = own(m);
    if (!ms) continue; // disabled here: neither silent nor counted
    const silent = now - m.lastSeenMs > ms.factor * m.intervalS * 1000;
    tally(grids, m.gridCode, m, silent);
    tally(streets, parseGridCode(m.gridCode)?.street ?? m.gridCode, m, silent);
  }
  const out: ActiveCondition[] = [];
  const covered = new Set<string>();
  const area = (code: string, kind: 'street' | 'grid', t: Tally) => {
    const as = at ? at({ id: `${kind}:${code}`, gridCode: code, site: null }) : s;
    if (!as || t.total < as.areaMinDevices || t.silent.length / t.total < as.areaRatio)
      return false;
    let firstMs = now;
    for (const m of t.silent) {
      covered.add(m.id);
      if (m.lastSeenMs < firstMs) firstMs = m.lastSeenMs;
    }
    out.push({
      source: `${kind}:${code}`,
      sourceKind: kind,
      deviceId: null,
      gridCode: code,
      value: t.silent.length,
      threshold: Math.ceil(t.total * as.areaRatio),
      severity: as.areaSeverity,
      firstMs,
      detail: `${t.silent.length} of ${t.total} devices silent`,
    });
    return true;
  };
  for (const [code, t] of streets) area(code, 'street', t);
  for (const [code, t] of grids) {
    if (t.silent.some((m) => covered.has(m.id))) continue;
    area(code, 'grid', t);
  }
  for (const t of grids.values()) {
    for (const m of t.silent) {
      if (covered.has(m.id)) continue;
      const ms = own(m) ?? s;
      out.push({
        source: m.id,
        sourceKind: 'device',
        deviceId: m.id,
        gridCode: m.gridCode,
        value: Math.round((now - m.lastSeenMs) / 1000),
        threshold: ms.factor * m.intervalS,
        severity: ms.deviceSeverity,
        firstMs: m.lastSeenMs,
        detail: `silent for ${Math.round((now - m.lastSeenMs) / 1000)} s`,
        holdS: ms.correlationS ?? 900,
      });
    }
  }
  return out;
}

export const offlineKind: TickKind<OfflineSettings> = {
  settingsSchema: offlineSettingsSchema,
  active,
  // Silence is already measured against 3× the interval; no extra hold.
  forSecondsOf: () => 0,
};
