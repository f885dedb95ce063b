import type { Severity } from './catalog.js';
import type { FacilityType } from './facilities.js';

/** A rule as stored and served: `settings` is validated by its kind (rules/kinds/). */
export interface RuleDefinition {
  readonly id: string;
  readonly version: number;
  /** `all` for fleet-wide rules (offline with area correlation). */
  readonly facilityType: FacilityType | 'all';
  readonly kind: string;
  readonly severity: Severity;
  /** Shown to operators, Chinese first. */
  readonly title: string;
  readonly description: string;
  /** Where the default comes from: a seed, a standard clause, or "default". */
  readonly source: string;
  readonly settings: Record<string, unknown>;
  readonly enabled: boolean;
}

/** Where a rule override applies, least specific first (docs/rules.md): a site is devices.attrs.site. */
export const overrideScopes = ['district', 'grid', 'site', 'device'] as const;
export type OverrideScope = (typeof overrideScopes)[number];
