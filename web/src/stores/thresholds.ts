import type { RuleDefinition } from '@domain/rules.js';

/** A number a rule compares a metric with: a line on the device's chart. */
export interface ThresholdLine {
  readonly ruleId: string;
  readonly facilityType?: string;
  readonly metric: string;
  readonly op: string;
  readonly value: number;
  readonly severity: string;
  readonly title: string;
}

interface Condition {
  metric?: unknown;
  op?: unknown;
  value?: unknown;
}

/**
 * The numeric raise conditions of the enabled threshold rules of a facility
 * type (docs/rules.md, kind `threshold`: `settings.raise[]`), one line each.
 */
export function thresholdsFor(rules: readonly RuleDefinition[], type: string): ThresholdLine[] {
  const out: ThresholdLine[] = [];
  for (const r of rules) {
    if (!r.enabled || r.facilityType !== type) continue;
    const raise = (r.settings as { raise?: unknown }).raise;
    if (!Array.isArray(raise)) continue;
    for (const c of raise as Condition[]) {
      if (typeof c.metric !== 'string' || typeof c.value !== 'number' || typeof c.op !== 'string')
        continue;
      out.push({
        ruleId: r.id,
        metric: c.metric,
        op: c.op,
        value: c.value,
        severity: r.severity,
        title: r.title,
      });
    }
  }
  return out;
}

/** A reading series of one metric, oldest first, numbers only (booleans as 0/1). */
export function seriesOf(
  readings: readonly { time: string; data: Record<string, unknown> }[],
  metric: string,
): [number, number][] {
  const out: [number, number][] = [];
  for (const r of readings) {
    const v = r.data[metric];
    const n = typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : null;
    if (n !== null) out.push([Date.parse(r.time), n]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}
