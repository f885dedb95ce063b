import type { FacilityType, RuleDefinition } from '../domain/index.js';
import {
  ruleKinds,
  type ThresholdSettings,
  type ThresholdState,
  type Transition,
} from './kinds/index.js';

export interface RuleTransition {
  readonly rule: RuleDefinition;
  readonly transition: Exclude<Transition, { action: 'none' }>;
  readonly readingMs: number;
}

interface CompiledRule {
  readonly rule: RuleDefinition;
  readonly settings: ThresholdSettings;
}

/**
 * Evaluates readings against the rules of the device's facility type only,
 * in memory: no database round trip per reading. State is one slot per
 * (device, rule), created on the device's first reading.
 */
export function createEvaluator(rules: readonly RuleDefinition[]) {
  const byType = new Map<FacilityType, CompiledRule[]>();
  for (const rule of rules) {
    if (!rule.enabled || rule.kind !== 'threshold') continue;
    const list = byType.get(rule.facilityType) ?? [];
    list.push({ rule, settings: rule.settings as unknown as ThresholdSettings });
    byType.set(rule.facilityType, list);
  }
  const states = new Map<string, ThresholdState[]>();

  function statesOf(deviceId: string, count: number): ThresholdState[] {
    let s = states.get(deviceId);
    if (!s) {
      s = Array.from({ length: count }, () => ruleKinds.threshold.initialState());
      states.set(deviceId, s);
    }
    return s;
  }

  return {
    /** Transitions caused by these readings, in reading order. */
    evaluate(
      deviceId: string,
      type: FacilityType,
      readings: readonly { timeMs: number; metrics: Record<string, unknown> }[],
    ): RuleTransition[] {
      const compiled = byType.get(type);
      if (!compiled) return [];
      const s = statesOf(deviceId, compiled.length);
      let out: RuleTransition[] | null = null;
      for (const reading of readings) {
        for (let i = 0; i < compiled.length; i++) {
          const t = ruleKinds.threshold.evaluate(reading, compiled[i]!.settings, s[i]!);
          if (t.action !== 'none')
            (out ??= []).push({
              rule: compiled[i]!.rule,
              transition: t,
              readingMs: reading.timeMs,
            });
        }
      }
      return out ?? [];
    },
    /** Marks an alarm already open (restored at start) so it is not opened again. */
    restoreOpen(deviceId: string, type: FacilityType, ruleId: string): void {
      const compiled = byType.get(type);
      const i = compiled?.findIndex((c) => c.rule.id === ruleId) ?? -1;
      if (!compiled || i < 0) return;
      statesOf(deviceId, compiled.length)[i]!.open = true;
    },
  };
}

export type Evaluator = ReturnType<typeof createEvaluator>;
