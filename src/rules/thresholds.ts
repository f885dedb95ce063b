import type { FacilityType, RuleDefinition, Severity } from '../domain/index.js';

/** A limit a screen draws on a chart (a threshold line) and shows in a device drawer. */
export interface RuleThreshold {
  readonly ruleId: string;
  readonly facilityType: FacilityType | 'all';
  readonly title: string;
  readonly metric: string;
  readonly op: string;
  readonly value: number | boolean | string;
  readonly severity: Severity;
}

interface Cond {
  metric: string;
  op: string;
  value: number | boolean | string;
}
interface Lvl {
  severity: Severity;
  value: number;
}

/**
 * The limits of a rule as a screen shows them: each raise condition of a
 * `threshold` rule, each level of a `levels` or `aggregate` rule (with the
 * aggregate's function in `metric`, e.g. `noise:leq`). Kinds with no fixed
 * limit on one metric (rate, offline, group ratio) give none.
 */
export function ruleThresholds(rule: RuleDefinition): RuleThreshold[] {
  const s = rule.settings as {
    raise?: Cond[];
    metric?: string;
    op?: string;
    fn?: string;
    levels?: Lvl[];
  };
  const base = { ruleId: rule.id, facilityType: rule.facilityType, title: rule.title };
  if (rule.kind === 'threshold' && Array.isArray(s.raise)) {
    return s.raise.map((c) => ({
      ...base,
      metric: c.metric,
      op: c.op,
      value: c.value,
      severity: rule.severity,
    }));
  }
  if ((rule.kind === 'levels' || rule.kind === 'aggregate') && s.metric && s.levels) {
    const metric = rule.kind === 'aggregate' && s.fn ? `${s.metric}:${s.fn}` : s.metric;
    return s.levels.map((l) => ({
      ...base,
      metric,
      // Defaults of the kinds: levels raise at `>=`, an aggregate over `>`.
      op: s.op ?? (rule.kind === 'levels' ? '>=' : '>'),
      value: l.value,
      severity: l.severity,
    }));
  }
  return [];
}
