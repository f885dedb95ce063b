import { parseGridCode, severitySchema, type Severity } from '../../domain/index.js';
import type { ActiveCondition, FleetMember, PriorState, SettingsOf, TickKind } from './fleet.js';

/**
 * Absence: no message for `factor` × the reporting interval (domain.md "All
 * types": 3×, minor). Correlated: when at least `areaRatio` of a street's (or
 * else a grid's) devices are silent, that is one area alarm (major: a power
 * or network outage), and the silent devices inside it raise nothing of
 * their own — 300 dark devices of one street are one alarm, not 300.
 *
 * Recovery (issue 17): an area alarm has hysteresis. Opened at `areaRatio`
 * (80 %) silent, it stays open until fewer than `areaClearRatio` (default half
 * of `areaRatio`: 40 %) are silent, so a street coming back in a staggered
 * minute clears once, not on and off. And an area that has just cleared is
 * "recovering" for `recoveryS` (default `correlationS`, 15 min): its grids and
 * devices still dark wait that long before alarms of their own, so the last
 * grids of a street to come back do not open new alarms (and cases) for a
 * minute each. A grid still dark after that is a fault of its own. Likewise
 * on the way down: while a street is between the two ratios, its grids wait
 * `correlationS` as its devices do, so a power cut is the street's alarm
 * rather than a grid's first and the street's a minute later.
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
  /**
   * An open area alarm clears when fewer than this share of the area's
   * devices are silent (hysteresis). Default: half of `areaRatio`; never above it.
   */
  readonly areaClearRatio?: number;
  /**
   * After an area alarm clears, its child grids and devices wait this long
   * before opening alarms of their own. Default: `correlationS` (900 s).
   */
  readonly recoveryS?: number;
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
    areaClearRatio: { type: 'number', minimum: 0, maximum: 1 },
    recoveryS: { type: 'number', minimum: 0, maximum: 86400 },
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

/** The share of silent devices under which an open area alarm clears. */
export const clearRatioOf = (s: OfflineSettings): number =>
  Math.min(s.areaClearRatio ?? s.areaRatio / 2, s.areaRatio);

function active(
  members: readonly FleetMember[],
  s: OfflineSettings,
  now: number,
  at?: SettingsOf<OfflineSettings>,
  prior?: PriorState,
): ActiveCondition[] {
  const streets = new Map<string, Tally>();
  const grids = new Map<string, Tally>();
  // A device's own settings (factor, hold, severity) with its grid's, district's, site's and
  // its own overrides; `at` memoises them per device.
  const own = (m: FleetMember) =>
    at ? at({ id: m.id, gridCode: m.gridCode, site: m.site ?? null }) : s;
  // Thousands of grids for a fleet of 100,000: parse each once per tick.
  const streetByGrid = new Map<string, string>();
  const streetOf = (gridCode: string) => {
    let street = streetByGrid.get(gridCode);
    if (street === undefined) {
      street = parseGridCode(gridCode)?.street ?? gridCode;
      streetByGrid.set(gridCode, street);
    }
    return street;
  };
  for (const m of members) {
    const ms = own(m);
    if (!ms) continue; // disabled here: neither silent nor counted
    const silent = now - m.lastSeenMs > ms.factor * m.intervalS * 1000;
    tally(grids, m.gridCode, m, silent);
    tally(streets, streetOf(m.gridCode), m, silent);
  }
  const out: ActiveCondition[] = [];
  const covered = new Set<string>();
  /** Area code → the wait (s) of its children while it recovers (or is going dark). */
  const recovering = new Map<string, number>();
  const area = (code: string, kind: 'street' | 'grid', t: Tally, holdS?: number) => {
    const source = `${kind}:${code}`;
    const as = at ? at({ id: source, gridCode: code, site: null }) : s;
    if (!as) return;
    const ratio = t.silent.length / t.total;
    const meets =
      t.total >= as.areaMinDevices &&
      (prior?.open[source]
        ? t.silent.length > 0 && ratio >= clearRatioOf(as)
        : ratio >= as.areaRatio);
    if (!meets) {
      const clearedMs = prior?.open[source] ? now : prior?.cleared?.[source];
      const waitS = as.recoveryS ?? as.correlationS ?? 900;
      if (clearedMs !== undefined && now - clearedMs < waitS * 1000) recovering.set(code, waitS);
      // Going dark but not there yet (a power cut: minute devices fall silent before
      // five-minute ones): its grids wait as its devices do, for the area to show.
      else if (t.total >= as.areaMinDevices && ratio >= clearRatioOf(as))
        recovering.set(code, as.correlationS ?? 900);
      return;
    }
    let firstMs = now;
    for (const m of t.silent) {
      covered.add(m.id);
      if (m.lastSeenMs < firstMs) firstMs = m.lastSeenMs;
    }
    out.push({
      source,
      sourceKind: kind,
      deviceId: null,
      gridCode: code,
      value: t.silent.length,
      threshold: Math.ceil(t.total * as.areaRatio),
      severity: as.areaSeverity,
      firstMs,
      detail: `${t.silent.length} of ${t.total} devices silent`,
      ...(holdS !== undefined && { holdS }),
    });
  };
  for (const [code, t] of streets) area(code, 'street', t);
  for (const [code, t] of grids) {
    if (t.silent.some((m) => covered.has(m.id))) continue;
    // A grid of a street that has just come back (or is going dark) waits for the street.
    area(code, 'grid', t, recovering.get(streetOf(code)));
  }
  for (const [code, t] of grids) {
    const waitS = Math.max(recovering.get(code) ?? 0, recovering.get(streetOf(code)) ?? 0);
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
        holdS: Math.max(ms.correlationS ?? 900, waitS),
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
