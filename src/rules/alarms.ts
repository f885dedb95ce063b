import type { Logger } from 'pino';
import {
  alarmTransaction,
  applyAlarmHolds,
  changeAlarmSeverity,
  clearAlarm,
  listOpenAlarms,
  markAlarmFlapping,
  openAlarm,
  type DeviceIdentity,
  type Pool,
} from '../db/index.js';
import type { AlarmChange, AlarmRecord, FacilityType } from '../domain/index.js';
import type { Evaluator, Hold, RuleTransition } from './evaluator.js';
import type { Reading } from './kinds/index.js';

export type AlarmEvent = { kind: 'opened' | 'cleared' | 'updated'; alarm: AlarmRecord };
export type AlarmListener = (event: AlarmEvent) => void;
/** Versioned changes this node committed, for the alarm feed (`alarm-feed.ts`). */
export type AlarmChangesListener = (changes: readonly AlarmChange[]) => void;

export interface AlarmServiceOptions {
  /** The clock for ticks (flapping stability, holds flush). Tests inject one. */
  readonly now?: () => number;
  /**
   * Flapping (engineering default): `transitions` opens and clears within
   * `withinS` make the alarm flapping; it then stays open until the condition
   * has been clear for `stableS`, instead of opening a case a minute.
   */
  readonly flapping?: { transitions: number; withinS: number; stableS: number };
}

interface OpenAlarm {
  id: number;
  flapping: boolean;
  /** Reading time the condition cleared while flapping; cleared for real after `stableS`. */
  pendingClearMs: number | null;
  pendingClearValue: number | boolean | string;
  ruleId: string;
  source: string;
}

const keyOf = (source: string, ruleId: string) => `${source}\u0000${ruleId}`;

/**
 * The alarm lifecycle: rule transitions become stored alarms (opened, severity
 * changed, cleared), readings that keep an alarm open are accumulated and
 * written in batches from `tick` (a noisy device does not write per reading),
 * and flapping alarms are held open until stable. One open alarm per
 * (source, rule): in memory here, and by the partial unique index in the
 * database. Writes are chained per source so an open is stored before its clear.
 */
export function createAlarmService(
  db: Pool,
  evaluator: Evaluator,
  logger: Logger,
  options: AlarmServiceOptions = {},
) {
  const now = options.now ?? Date.now;
  const flap = options.flapping ?? { transitions: 6, withinS: 3600, stableS: 900 };
  const listeners: AlarmListener[] = [];
  const changeListeners: AlarmChangesListener[] = [];
  const chains = new Map<string, Promise<void>>();
  const open = new Map<string, OpenAlarm>();
  const history = new Map<string, number[]>();
  let waiting: Hold[] = [];
  const counters = { opened: 0, cleared: 0, updated: 0, flapping: 0, holdsWritten: 0, errors: 0 };

  const emit = (kind: AlarmEvent['kind'], alarm: AlarmRecord) => {
    if (kind === 'opened') counters.opened++;
    else if (kind === 'cleared') counters.cleared++;
    else counters.updated++;
    for (const l of listeners) l({ kind, alarm });
  };
  /** Runs alarm writes with versioned changes (decision 0160) and hands the committed ones on. */
  async function versioned<T>(fn: Parameters<typeof alarmTransaction<T>>[1]): Promise<T> {
    const { result, changes } = await alarmTransaction(db, fn);
    if (changes.length > 0) for (const l of changeListeners) l(changes);
    return result;
  }

  /** Records a transition; true when the (source, rule) is now flapping. */
  function flapped(key: string, atMs: number): boolean {
    const list = history.get(key) ?? [];
    list.push(atMs);
    while (list.length > 0 && list[0]! < atMs - flap.withinS * 1000) list.shift();
    history.set(key, list);
    return list.length >= flap.transitions;
  }

  async function apply(t: RuleTransition): Promise<void> {
    const { rule, source, transition } = t;
    const key = keyOf(source.id, rule.id);
    const current = open.get(key);
    if (transition.action === 'open') {
      const isFlapping = flapped(key, t.readingMs);
      if (current) {
        // Re-raised while held open as flapping: the same alarm goes on.
        current.pendingClearMs = null;
        return;
      }
      const raise = (rule.settings as { raise?: { metric: string; value: unknown }[] }).raise;
      const metric =
        (rule.settings as { metric?: string }).metric ?? raise?.[0]?.metric ?? rule.kind;
      const { alarm, opened } = await versioned(async (tx, record) => {
        const r = await openAlarm(tx, {
          source: source.id,
          sourceKind: source.kind,
          deviceId: source.deviceId,
          ruleId: rule.id,
          ruleVersion: rule.version,
          facilityType: source.facilityType,
          gridCode: source.gridCode,
          severity: transition.severity ?? rule.severity,
          title: rule.title,
          metric,
          threshold: transition.threshold ?? ((raise?.[0]?.value ?? null) as number | null),
          value: transition.value,
          firstReadingMs: transition.firstMs,
          lastReadingMs: t.readingMs,
          explain: {
            kind: rule.kind,
            settings: t.settings ?? rule.settings,
            ...(t.detail ? { detail: t.detail } : {}),
          },
        });
        if (r.opened) record('opened', r.alarm);
        return r;
      });
      open.set(key, {
        id: alarm.id,
        flapping: alarm.flapping,
        pendingClearMs: null,
        pendingClearValue: transition.value,
        ruleId: rule.id,
        source: source.id,
      });
      if (!opened) return;
      logger.info({ alarmId: alarm.id, source: source.id, ruleId: rule.id }, 'alarm opened');
      emit('opened', alarm);
      if (isFlapping) await markFlapping(key);
      return;
    }
    if (!current) return;
    if (transition.action === 'severity') {
      const alarm = await versioned(async (tx, record) => {
        const a = await changeAlarmSeverity(tx, current.id, {
          severity: transition.severity,
          threshold: transition.threshold,
          value: transition.value,
          atMs: t.readingMs,
          ...(transition.detail ? { detail: transition.detail } : {}),
        });
        if (a) record('severity', a);
        return a;
      });
      if (alarm) emit('updated', alarm);
      return;
    }
    if (flapped(key, t.readingMs) || current.flapping) {
      if (!current.flapping) await markFlapping(key);
      current.pendingClearMs = t.readingMs;
      current.pendingClearValue = transition.value;
      return;
    }
    await clear(key, current, transition.value, t.readingMs);
  }

  async function markFlapping(key: string): Promise<void> {
    const current = open.get(key);
    if (!current || current.flapping) return;
    current.flapping = true;
    counters.flapping++;
    const alarm = await versioned(async (tx, record) => {
      const a = await markAlarmFlapping(tx, current.id);
      if (a) record('flapping', a);
      return a;
    });
    if (alarm) emit('updated', alarm);
  }

  /** Writes the accumulated holds of open alarms in one statement. */
  async function flushHolds(): Promise<void> {
    const holds = [...waiting, ...evaluator.drainHolds()];
    waiting = [];
    // One row per alarm: a hold kept waiting and a newer one would otherwise both
    // match in one UPDATE … FROM, and PostgreSQL applies only one of them.
    const rows = new Map<number, Omit<Hold, 'source' | 'ruleId'> & { id: number }>();
    for (const h of holds) {
      const a = open.get(keyOf(h.source, h.ruleId));
      if (!a) {
        // Its open is still being stored: keep the hold for the next flush.
        if (chains.has(h.source)) waiting.push(h);
        continue;
      }
      const row = rows.get(a.id);
      if (!row) {
        rows.set(a.id, { id: a.id, count: h.count, last: h.last, peak: h.peak, lastMs: h.lastMs });
        continue;
      }
      row.count += h.count;
      if (h.peak > row.peak) row.peak = h.peak;
      if (h.lastMs >= row.lastMs) {
        row.last = h.last;
        row.lastMs = h.lastMs;
      }
    }
    if (rows.size === 0) return;
    try {
      await applyAlarmHolds(db, [...rows.values()]);
      counters.holdsWritten += rows.size;
    } catch (err) {
      counters.errors++;
      logger.error({ err }, 'alarm holds not stored');
    }
  }

  async function clear(
    key: string,
    current: OpenAlarm,
    value: number | boolean | string,
    atMs: number,
  ): Promise<void> {
    // The readings that kept it open go in first, so peak and count are complete.
    await flushHolds();
    open.delete(key);
    const alarm = await versioned(async (tx, record) => {
      const a = await clearAlarm(tx, current.source, current.ruleId, value, atMs);
      if (a) record('cleared', a);
      return a;
    });
    if (!alarm) return;
    logger.info(
      { alarmId: alarm.id, source: current.source, ruleId: current.ruleId },
      'alarm cleared',
    );
    emit('cleared', alarm);
  }

  /** Runs `work` after everything already queued for the same source. */
  function chain(chainKey: string, work: () => Promise<void>): void {
    const previous = chains.get(chainKey) ?? Promise.resolve();
    const next = previous.then(work).catch((err: unknown) => {
      counters.errors++;
      logger.error({ err, source: chainKey }, 'alarm transition not stored');
    });
    chains.set(chainKey, next);
    void next.finally(() => {
      if (chains.get(chainKey) === next) chains.delete(chainKey);
    });
  }

  function enqueue(chainKey: string, transitions: readonly RuleTransition[]): void {
    if (transitions.length === 0) return;
    chain(chainKey, async () => {
      for (const t of transitions) {
        try {
          await apply(t);
        } catch (err) {
          counters.errors++;
          logger.error(
            { err, source: t.source.id, ruleId: t.rule.id },
            'alarm transition not stored',
          );
        }
      }
    });
  }

  function restoreOne(a: AlarmRecord, types: ReadonlyMap<string, FacilityType>): void {
    open.set(keyOf(a.source, a.ruleId), {
      id: a.id,
      flapping: a.flapping,
      pendingClearMs: null,
      pendingClearValue: a.lastValue ?? false,
      ruleId: a.ruleId,
      source: a.source,
    });
    // The hub's own alarms (storage) are decided outside the evaluator.
    if (a.sourceKind === 'hub') return;
    const type = a.deviceId ? (types.get(a.deviceId) ?? a.facilityType) : a.facilityType;
    evaluator.restoreOpen(a.source, type, a.ruleId, a.severity, {
      sourceKind: a.sourceKind,
      deviceId: a.deviceId,
      gridCode: a.gridCode,
      value: typeof a.lastValue === 'number' ? a.lastValue : 0,
      threshold: typeof a.threshold === 'number' ? a.threshold : 0,
      severity: a.severity,
      firstMs: Date.parse(a.firstReadingAt),
      detail: '',
    });
  }

  return {
    counters,
    onAlarm(listener: AlarmListener): void {
      listeners.push(listener);
    },
    /** Versioned changes as this node commits them (the alarm feed's `offer`). */
    onChanges(listener: AlarmChangesListener): void {
      changeListeners.push(listener);
    },
    /** Evaluates a device's readings; the hot path stays synchronous until a transition. */
    handle(
      device: Pick<DeviceIdentity, 'id' | 'type'> & { readonly gridCode?: string },
      readings: readonly Reading[],
    ): void {
      enqueue(device.id, evaluator.evaluate(device.id, device.type, readings, device.gridCode));
    },
    /**
     * Time-driven work at `at` (default: the injected clock): fleet-wide rules
     * (unless `fleet` is false: in a cluster only the leader runs them),
     * flapping alarms that have been stable long enough, and the batched hold
     * updates of open alarms.
     */
    async tick(at: number = now(), options: { fleet?: boolean } = {}): Promise<void> {
      const byChain = new Map<string, RuleTransition[]>();
      for (const t of options.fleet === false ? [] : evaluator.tick(at)) {
        const list = byChain.get(t.source.id) ?? [];
        list.push(t);
        byChain.set(t.source.id, list);
      }
      for (const [k, list] of byChain) enqueue(k, list);
      for (const [key, a] of open) {
        if (a.pendingClearMs !== null && at - a.pendingClearMs >= flap.stableS * 1000) {
          const value = a.pendingClearValue;
          a.pendingClearMs = null;
          history.delete(key);
          chain(a.source, () => clear(key, a, value, at));
        }
      }
      await flushHolds();
    },
    flushHolds,
    /** Loads open alarms at start: they are not opened again, and clear as usual. */
    async restore(types: ReadonlyMap<string, FacilityType>): Promise<number> {
      const alarms = await listOpenAlarms(db);
      for (const a of alarms) restoreOne(a, types);
      return alarms.length;
    },
    /**
     * This node starts running the fleet-wide rules (it became the leader):
     * their state is rebuilt from the alarms open now, which another node may
     * have opened or cleared since this one started.
     */
    async takeOverFleet(types: ReadonlyMap<string, FacilityType>): Promise<number> {
      const alarms = (await listOpenAlarms(db)).filter((a) => evaluator.isTickRule(a.ruleId));
      evaluator.resetGroups();
      for (const [key, a] of open) if (evaluator.isTickRule(a.ruleId)) open.delete(key);
      for (const a of alarms) restoreOne(a, types);
      return alarms.length;
    },
    /**
     * Clears the open alarms of rules that are gone or disabled (after a
     * reload): nothing would ever evaluate them again.
     */
    retire(enabledRuleIds: ReadonlySet<string>, at: number = now()): number {
      let n = 0;
      for (const [key, a] of open) {
        if (enabledRuleIds.has(a.ruleId)) continue;
        n++;
        chain(a.source, () => clear(key, a, a.pendingClearValue, at));
      }
      return n;
    },
    isOpen: (source: string, ruleId: string): boolean => open.has(keyOf(source, ruleId)),
    /** Sources with an open alarm of this rule (after a restart too). */
    openSources(ruleId: string): string[] {
      return [...open.values()].filter((a) => a.ruleId === ruleId).map((a) => a.source);
    },
    /** Transitions decided outside the evaluator (the broker's rate-abuse signal). */
    report(transitions: readonly RuleTransition[]): void {
      for (const t of transitions) enqueue(t.source.id, [t]);
    },
    openCount: (): number => open.size,
    /** Resolves when every transition handed in so far is stored. */
    async settled(): Promise<void> {
      while (chains.size > 0) await Promise.all(chains.values());
    },
  };
}

export type AlarmService = ReturnType<typeof createAlarmService>;
