import type { FacilityType, Severity } from '../../domain/index.js';

/**
 * What the time-driven kinds (group ratio, offline) share. They run from
 * `tick(now)` over the whole fleet's last-seen times and last readings, not
 * per reading, and are level-triggered: each tick says which sources are in
 * the condition now; `diffActive` turns that into opens (after `forSeconds`)
 * and clears.
 */

export interface FleetMember {
  readonly id: string;
  readonly type: FacilityType;
  readonly gridCode: string;
  /** devices.attrs.road for streetlights. */
  readonly road: string | null;
  readonly intervalS: number;
  readonly lastSeenMs: number;
  readonly last: Record<string, unknown> | null;
  /** Ids of the device's rules with an alarm open now (facility integrity counts faults by them). */
  readonly open: readonly string[];
  /** Whether the device's own schedule wants it on now (lamps, overrides included); null: no schedule. */
  readonly dueOn: boolean | null;
  /** Construction site (devices.attrs.site): matched by `site` overrides. */
  readonly site?: string | null;
}

/** What a tick rule's overrides are matched against: a device, or an area by its code (`gridCode`). */
export interface SettingsTarget {
  readonly id: string;
  readonly gridCode: string;
  readonly site: string | null;
}

/**
 * The rule's settings for one group or device with its overrides merged in;
 * null where an override disables the rule. The evaluator caches them per
 * target between rule changes, so a tick does no database round trip.
 */
export type SettingsOf<S> = (target: SettingsTarget) => S | null;

export type SourceKind = 'device' | 'grid' | 'street' | 'district' | 'road';

/** A source (a device or an area) in the rule's condition at this tick. */
export interface ActiveCondition {
  readonly source: string;
  readonly sourceKind: SourceKind;
  readonly deviceId: string | null;
  /** The area the alarm (and its case) belongs to: the device's grid, or the area itself. */
  readonly gridCode: string;
  readonly value: number;
  readonly threshold: number;
  readonly severity: Severity;
  /** Since when the evidence goes back (e.g. the last reading of an offline device). */
  readonly firstMs: number;
  readonly detail: string;
  /** Hold before opening, when it differs from the rule's (offline devices wait for correlation). */
  readonly holdS?: number;
}

export type GroupTransition =
  | { readonly action: 'open'; readonly condition: ActiveCondition }
  | { readonly action: 'clear'; readonly condition: ActiveCondition };

export interface GroupState {
  /** source → when it entered the condition (ms) */
  since: Record<string, number>;
  /** source → the condition it was opened with */
  open: Record<string, ActiveCondition>;
  /**
   * Area source → when its alarm cleared (ms), kept a day: an area that has
   * just come back is "recovering", and the offline kind keeps its children
   * from opening alarms of their own meanwhile (issue 17). Absent in
   * checkpoints written before it existed.
   */
  cleared?: Record<string, number>;
}

export interface TickKind<S> {
  readonly settingsSchema: object;
  /**
   * `settings` are the rule's own and decide the grouping (`groupBy`,
   * `facilityType`); `at` gives each group's or device's settings with
   * overrides (targets, factors, severities, hours). Without `at`, the rule's own everywhere.
   */
  active(
    members: readonly FleetMember[],
    settings: S,
    now: number,
    at?: SettingsOf<S>,
    prior?: PriorState,
  ): ActiveCondition[];
  forSecondsOf(settings: S): number;
}

/**
 * What a tick kind may know of its own past (hysteresis): the alarms open and
 * the areas cleared lately. Read-only; `diffActive` keeps it.
 */
export type PriorState = Readonly<Pick<GroupState, 'open' | 'cleared'>>;

/** How long `cleared` remembers an area: the longest wait a rule may set (a day). */
const CLEARED_KEPT_MS = 86_400_000;

export const initialGroupState = (): GroupState => ({ since: {}, open: {} });

export function diffActive(
  active: readonly ActiveCondition[],
  state: GroupState,
  now: number,
  forSeconds: number,
): GroupTransition[] {
  const out: GroupTransition[] = [];
  const seen = new Set<string>();
  for (const c of active) {
    seen.add(c.source);
    if (state.open[c.source]) continue;
    const since = (state.since[c.source] ??= now);
    if (now - since < (c.holdS ?? forSeconds) * 1000) continue;
    state.open[c.source] = c;
    out.push({ action: 'open', condition: c });
  }
  for (const source of Object.keys(state.since)) if (!seen.has(source)) delete state.since[source];
  for (const [source, c] of Object.entries(state.open)) {
    if (seen.has(source)) continue;
    delete state.open[source];
    if (c.sourceKind !== 'device') (state.cleared ??= {})[source] = now;
    out.push({ action: 'clear', condition: c });
  }
  if (state.cleared)
    for (const [source, ms] of Object.entries(state.cleared))
      if (now - ms > CLEARED_KEPT_MS || state.open[source]) delete state.cleared[source];
  return out;
}
