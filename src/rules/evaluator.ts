import {
  isFacilityType,
  type FacilityType,
  type RuleDefinition,
  type Severity,
} from '../domain/index.js';
import {
  diffActive,
  initialGroupState,
  isReadingKind,
  isTickKind,
  readingKinds,
  tickKinds,
  type ActiveCondition,
  type BaseState,
  type FleetMember,
  type GroupState,
  type PriorState,
  isLit,
  type SettingsTarget,
  type Reading,
  type ReadingKind,
} from './kinds/index.js';
import { fleetMembers, type MemberSource } from './fleet-members.js';
import { byScope, mergeSettings, overrideApplies } from './overrides.js';
import type { AlarmSource, FleetDevice, Hold, RuleOverrideInput, RuleTransition } from './types.js';

export type { AlarmSource, FleetDevice, Hold, RuleOverrideInput, RuleTransition };

type AnyKind = ReadingKind<unknown, unknown, BaseState>;

/** Returned when nothing changed: the common case allocates nothing. */
const noTransitions: readonly RuleTransition[] = Object.freeze([]);

interface Compiled {
  readonly rule: RuleDefinition;
  /** The rule's settings with this device's overrides merged in. */
  readonly settings: Record<string, unknown>;
  readonly kind: AnyKind;
  readonly prepared: unknown;
  readonly metric: string | null;
}

interface Entry {
  readonly id: string;
  type: FacilityType;
  gridCode: string;
  road: string | null;
  site: string | null;
  source: AlarmSource;
  generation: number;
  compiled: Compiled[];
  states: BaseState[];
  holds: (Hold | null)[];
  lastSeenMs: number;
  last: Record<string, unknown> | null;
  dirty: boolean;
  /** The stored checkpoint row holds busy states: an idle entry must overwrite it. */
  savedBusy: boolean;
  /** Lit or not in the stored row (lamps): the lighting rate reads it after a restart. */
  savedLit: boolean | null | undefined;
  member?: MemberSource['member'];
}

/**
 * Not open, waiting for no duration (`sinceMs`), holding no window (`times`,
 * `rt`; kinds/types.ts): the same as a fresh state for a restart, so not
 * worth a checkpoint.
 */
function isIdle(s: BaseState): boolean {
  const st = s as BaseState & { sinceMs?: number | null; times?: unknown[]; rt?: unknown[] };
  return (
    !st.open &&
    (st.sinceMs ?? null) === null &&
    (st.times?.length ?? 0) === 0 &&
    (st.rt?.length ?? 0) === 0
  );
}

/**
 * Evaluates readings against the rules of the device's facility type only, in
 * memory: no database round trip per reading, no allocation unless something
 * changes. Time-driven rules (group ratio, offline) run from `tick(now)` over
 * every device's last-seen time and last reading. `reload` swaps the compiled
 * rules without a restart; per-device state survives for rules whose id and
 * version are unchanged.
 */
export function createEvaluator(
  initialRules: readonly RuleDefinition[],
  initialOverrides: readonly RuleOverrideInput[] = [],
) {
  let rules: readonly RuleDefinition[] = [];
  let byType = new Map<FacilityType, Compiled[]>();
  let tickRules: RuleDefinition[] = [];
  let overrides = new Map<string, RuleOverrideInput[]>();
  let generation = 0;
  const entries = new Map<string, Entry>();
  const groupStates = new Map<string, { version: number; state: GroupState }>();
  const holding = new Set<Entry>();
  /** The tick's list of members, kept between ticks (its objects live on the entries). */
  const tickMembers: FleetMember[] = [];
  /** Group states as last checkpointed, so an unchanged one is not written again. */
  const savedGroups = new Map<string, string>();
  /**
   * Tick rules' settings per group or device (rule id → target id → merged
   * settings, null: disabled there), resolved once and kept until the rules,
   * overrides or fleet change: a tick makes no database round trip and merges nothing twice.
   */
  const tickSettings = new Map<string, Map<string, Record<string, unknown> | null>>();

  /** A tick rule's settings for one target with the overrides that cover it; null when none could apply. */
  function tickSettingsOf(
    rule: RuleDefinition,
  ): ((t: SettingsTarget) => Record<string, unknown> | null) | null {
    const os = overrides.get(rule.id);
    if (!os) return null;
    let cache = tickSettings.get(rule.id);
    if (!cache) tickSettings.set(rule.id, (cache = new Map()));
    const memo = cache;
    return (t) => {
      const hit = memo.get(t.id);
      if (hit !== undefined) return hit;
      let enabled = rule.enabled;
      let applied: Record<string, unknown>[] | null = null;
      for (const o of os) {
        if (!overrideApplies(o, t)) continue;
        if (o.enabled !== null) enabled = o.enabled;
        (applied ??= []).push(o.settings);
      }
      const out = !enabled
        ? null
        : applied
          ? mergeSettings(rule.settings, ...applied)
          : rule.settings;
      memo.set(t.id, out);
      return out;
    };
  }

  function compile(rule: RuleDefinition, settings: Record<string, unknown>): Compiled {
    const kind = readingKinds[rule.kind as keyof typeof readingKinds] as unknown as AnyKind;
    const prepared = kind.prepare(settings);
    return { rule, settings, kind, prepared, metric: kind.metricOf(prepared) };
  }

  function load(next: readonly RuleDefinition[], nextOverrides: readonly RuleOverrideInput[]) {
    rules = next;
    tickSettings.clear();
    byType = new Map();
    tickRules = [];
    overrides = new Map();
    for (const o of byScope(nextOverrides))
      overrides.set(o.ruleId, [...(overrides.get(o.ruleId) ?? []), o]);
    for (const rule of next) {
      if (isTickKind(rule.kind)) {
        tickRules.push(rule);
        continue;
      }
      if (!isReadingKind(rule.kind) || !isFacilityType(rule.facilityType)) continue;
      const list = byType.get(rule.facilityType) ?? [];
      list.push(compile(rule, rule.settings));
      byType.set(rule.facilityType, list);
    }
    generation++;
  }

  /** The device's rules with its district, grid, site and device overrides merged in deeply, most specific last. */
  function resolve(e: Entry): Compiled[] {
    const base = byType.get(e.type) ?? [];
    const out: Compiled[] = [];
    for (const c of base) {
      const os = overrides.get(c.rule.id);
      let enabled = c.rule.enabled;
      let applied: Record<string, unknown>[] | null = null;
      if (os) {
        for (const o of os) {
          if (!overrideApplies(o, e)) continue;
          if (o.enabled !== null) enabled = o.enabled;
          (applied ??= []).push(o.settings);
        }
      }
      if (!enabled) continue;
      out.push(applied ? compile(c.rule, mergeSettings(c.rule.settings, ...applied)) : c);
    }
    return out;
  }

  function refresh(e: Entry): void {
    const compiled = resolve(e);
    const states: BaseState[] = [];
    const holds: (Hold | null)[] = [];
    for (const c of compiled) {
      const i = e.compiled.findIndex(
        (o) => o.rule.id === c.rule.id && o.rule.version === c.rule.version,
      );
      states.push(i >= 0 ? e.states[i]! : c.kind.initialState(c.prepared));
      holds.push(i >= 0 ? e.holds[i]! : null);
    }
    e.compiled = compiled;
    e.states = states;
    e.holds = holds;
    e.generation = generation;
  }

  function entryOf(id: string, type: FacilityType, gridCode = '', nowMs = 0): Entry {
    let e = entries.get(id);
    if (!e) {
      e = {
        id,
        type,
        gridCode,
        road: null,
        site: null,
        source: { id, kind: 'device', deviceId: id, gridCode, facilityType: type },
        generation: -1,
        compiled: [],
        states: [],
        holds: [],
        lastSeenMs: nowMs,
        last: null,
        dirty: false,
        savedBusy: false,
        // Only lamps have a lit state worth a row of its own.
        savedLit: type === 'streetlight' ? undefined : null,
      };
      entries.set(id, e);
    }
    if (e.generation !== generation) refresh(e);
    return e;
  }

  /** The dark-lamp current of the lamp's rules (0.05 A in the pack). */
  function darkCurrentOf(e: Entry): number {
    for (const c of e.compiled) {
      const a = c.settings.darkCurrentA;
      if (typeof a === 'number') return a;
    }
    return 0;
  }

  function hold(e: Entry, i: number, v: number, t: number): void {
    let h = e.holds[i];
    if (!h) {
      h = e.holds[i] = {
        source: e.id,
        ruleId: e.compiled[i]!.rule.id,
        count: 0,
        last: v,
        peak: v,
        lastMs: t,
      };
    }
    h.count++;
    h.last = v;
    if (v > h.peak) h.peak = v;
    if (t > h.lastMs) h.lastMs = t;
    holding.add(e);
  }

  load(initialRules, initialOverrides);

  return {
    /** Transitions caused by these readings, in reading order. */
    evaluate(
      deviceId: string,
      type: FacilityType,
      readings: readonly Reading[],
      gridCode?: string,
    ): readonly RuleTransition[] {
      // A device registered after start joins the fleet on its first reading.
      const e = entryOf(deviceId, type, gridCode, readings[0]?.timeMs);
      const compiled = e.compiled;
      const states = e.states;
      let out: RuleTransition[] | null = null;
      for (const reading of readings) {
        if (reading.timeMs > e.lastSeenMs) {
          e.lastSeenMs = reading.timeMs;
          e.last = reading.metrics;
        }
        for (let i = 0; i < compiled.length; i++) {
          const c = compiled[i]!;
          const state = states[i]!;
          const t = c.kind.evaluate(reading, c.prepared, state);
          if (t.action !== 'none') {
            (out ??= []).push({
              rule: c.rule,
              source: e.source,
              transition: t,
              readingMs: reading.timeMs,
              settings: c.settings,
            });
          } else if (state.open && c.metric !== null) {
            const v = reading.metrics[c.metric];
            if (typeof v === 'number') hold(e, i, v, reading.timeMs);
          }
        }
      }
      e.dirty = true;
      return out ?? noTransitions;
    },

    /** Fleet-wide rules at `now` (injected clock): group ratios and offline with correlation. */
    tick(now: number): RuleTransition[] {
      if (tickRules.length === 0) return [];
      const members = fleetMembers(entries.values(), now, tickMembers);
      const out: RuleTransition[] = [];
      for (const rule of tickRules) {
        const at = tickSettingsOf(rule);
        // Disabled, unless an override enables it somewhere.
        if (!rule.enabled && !at) continue;
        const kind = tickKinds[rule.kind as keyof typeof tickKinds] as unknown as {
          active(
            m: readonly FleetMember[],
            s: unknown,
            now: number,
            at?: (t: SettingsTarget) => unknown,
            prior?: PriorState,
          ): ActiveCondition[];
          forSecondsOf(s: unknown): number;
        };
        let g = groupStates.get(rule.id);
        if (!g || g.version !== rule.version) {
          g = { version: rule.version, state: g?.state ?? initialGroupState() };
          groupStates.set(rule.id, g);
        }
        const active = kind.active(members, rule.settings, now, at ?? undefined, g.state);
        for (const t of diffActive(active, g.state, now, kind.forSecondsOf(rule.settings))) {
          const c = t.condition;
          const device = c.deviceId !== null ? entries.get(c.deviceId) : undefined;
          const source: AlarmSource = {
            id: c.source,
            kind: c.sourceKind,
            deviceId: c.deviceId,
            gridCode: c.gridCode,
            facilityType: c.deviceId !== null ? (device?.type ?? 'all') : rule.facilityType,
          };
          // The settings this group or device was judged by (the kind asked for the same target).
          const settings =
            at?.({ id: c.source, gridCode: c.gridCode, site: device?.site ?? null }) ??
            rule.settings;
          out.push({
            rule,
            source,
            readingMs: now,
            settings,
            detail: c.detail,
            transition:
              t.action === 'open'
                ? {
                    action: 'open',
                    firstMs: c.firstMs,
                    value: c.value,
                    threshold: c.threshold,
                    severity: c.severity,
                  }
                : { action: 'clear', value: c.value },
          });
        }
      }
      return out;
    },

    /** Swaps in new rules and overrides; takes effect on each device's next reading. */
    reload(next: readonly RuleDefinition[], nextOverrides: readonly RuleOverrideInput[] = []) {
      load(next, nextOverrides);
    },

    /** Registers every device, so a device that never reports can still go offline. */
    setFleet(devices: readonly FleetDevice[], nowMs: number): void {
      for (const d of devices) {
        if (!isFacilityType(d.type)) continue;
        const e = entryOf(d.id, d.type, d.gridCode, nowMs);
        if (e.gridCode !== d.gridCode || e.site !== (d.site ?? null)) {
          e.generation = -1;
          tickSettings.clear(); // resolved by device id: a device that moved resolves again
        }
        e.gridCode = d.gridCode;
        e.road = d.road ?? null;
        e.site = d.site ?? null;
        e.source = {
          id: d.id,
          kind: 'device',
          deviceId: d.id,
          gridCode: d.gridCode,
          facilityType: d.type,
        };
      }
    },

    /** Marks an alarm already open (restored at start) so it is not opened again. */
    restoreOpen(
      source: string,
      type: FacilityType | 'all',
      ruleId: string,
      severity?: Severity,
      area?: Omit<ActiveCondition, 'source'>,
    ): void {
      const tickRule = tickRules.find((r) => r.id === ruleId);
      if (tickRule) {
        let g = groupStates.get(ruleId);
        if (!g)
          groupStates.set(ruleId, (g = { version: tickRule.version, state: initialGroupState() }));
        g.state.open[source] ??= { source, ...area! };
        return;
      }
      if (type === 'all') return;
      const e = entryOf(source, type);
      const i = e.compiled.findIndex((c) => c.rule.id === ruleId);
      if (i < 0) return;
      const state = e.states[i]! as BaseState & { level?: number };
      state.open = true;
      e.dirty = true;
      const levels = (e.compiled[i]!.rule.settings as { levels?: { severity: string }[] }).levels;
      if (levels && state.level !== undefined && state.level < 0)
        state.level = Math.max(
          0,
          levels.findIndex((l) => l.severity === severity),
        );
    },

    /** Accumulated holds of open alarms since the last call. */
    drainHolds(): Hold[] {
      const out: Hold[] = [];
      for (const e of holding) {
        for (let i = 0; i < e.holds.length; i++) {
          const h = e.holds[i];
          if (h && h.count > 0) out.push({ ...h });
          e.holds[i] = null;
        }
      }
      holding.clear();
      return out;
    },

    /**
     * State changed since the last checkpoint, as rows for rule_state; `all`:
     * whether changed or not; `groups`: whether this node runs the fleet-wide
     * rules (only that node has their state to save). Only what a restart
     * needs: busy states (open, timing a duration, holding a window), a row
     * that turns idle (to overwrite the busy one stored), and lamps whose lit
     * state changed (the lighting rate reads it). Idle devices, the most, cost
     * nothing.
     */
    checkpoint(all = false, groups = true): { key: string; state: unknown }[] {
      const rows: { key: string; state: unknown }[] = [];
      for (const e of entries.values()) {
        if (!e.dirty && !all) continue;
        e.dirty = false;
        let states: Record<string, { v: number; s: BaseState }> | null = null;
        for (let i = 0; i < e.compiled.length; i++) {
          const st = e.states[i]!;
          if (isIdle(st)) continue;
          const c = e.compiled[i]!;
          c.kind.compact?.(st);
          (states ??= {})[c.rule.id] = { v: c.rule.version, s: st };
        }
        const lit = e.type === 'streetlight' && e.last ? isLit(e.last, darkCurrentOf(e)) : null;
        if (!states && !e.savedBusy && lit === e.savedLit) continue;
        e.savedBusy = states !== null;
        e.savedLit = lit;
        rows.push({
          key: `device:${e.id}`,
          state: { lastSeenMs: e.lastSeenMs, last: e.last, states: states ?? {} },
        });
      }
      if (groups)
        for (const [ruleId, g] of groupStates) {
          const json = JSON.stringify(g);
          if (!all && savedGroups.get(ruleId) === json) continue;
          savedGroups.set(ruleId, json);
          rows.push({ key: `rule:${ruleId}`, state: g });
        }
      return rows;
    },

    /** Restores checkpointed state; states of rules whose version changed start afresh. */
    restore(rows: readonly { key: string; state: unknown }[]): void {
      for (const { key, state } of rows) {
        if (key.startsWith('rule:')) {
          const g = state as { version: number; state: GroupState };
          const rule = tickRules.find((r) => r.id === key.slice(5));
          if (rule && rule.version === g.version) groupStates.set(rule.id, g);
          continue;
        }
        const e = entries.get(key.slice(7));
        if (!e) continue;
        const saved = state as {
          lastSeenMs: number;
          last: Record<string, unknown> | null;
          states: Record<string, { v: number; s: BaseState }>;
        };
        // A restart is not an outage: silence counts from the later of the last reading and the start.
        e.lastSeenMs = Math.max(e.lastSeenMs, saved.lastSeenMs);
        e.savedBusy = true; // whatever it holds is overwritten at the next checkpoint
        if (e.type === 'streetlight') e.savedLit = undefined;
        e.last = saved.last;
        if (e.generation !== generation) refresh(e);
        e.compiled.forEach((c, i) => {
          const s = saved.states[c.rule.id];
          if (s && s.v === c.rule.version) e.states[i] = s.s;
        });
      }
    },

    /**
     * A device's latest reading as another node stored it (device_latest):
     * the leader of a cluster runs the fleet-wide rules over every device,
     * not only those that report to it. Older than what is known: ignored.
     */
    observe(deviceId: string, timeMs: number, metrics: Record<string, unknown>): void {
      const e = entries.get(deviceId);
      if (!e || timeMs <= e.lastSeenMs) return;
      e.lastSeenMs = timeMs;
      e.last = metrics;
      e.dirty = true; // a lamp's lit state is checkpointed when it changes
    },

    /** Whether a rule runs from `tick` (group ratio, offline): one node's duty in a cluster. */
    isTickRule: (ruleId: string): boolean => tickRules.some((r) => r.id === ruleId),

    /** Forgets the state of the fleet-wide rules; a new leader restores it from the open alarms. */
    resetGroups(): void {
      groupStates.clear();
    },

    rules: (): readonly RuleDefinition[] => rules,
    deviceCount: (): number => entries.size,
  };
}

export type Evaluator = ReturnType<typeof createEvaluator>;
