import type {
  AlarmSourceKind,
  FacilityType,
  OverrideScope,
  RuleDefinition,
} from '../domain/index.js';
import type { Transition } from './kinds/index.js';

/** The evaluator's vocabulary, shared with the alarm service. */

/** What an alarm is about: a device, or an area for fleet-wide rules. */
export interface AlarmSource {
  readonly id: string;
  readonly kind: AlarmSourceKind;
  readonly deviceId: string | null;
  readonly gridCode: string;
  readonly facilityType: FacilityType | 'all';
}

export interface RuleTransition {
  readonly rule: RuleDefinition;
  readonly source: AlarmSource;
  readonly transition: Exclude<Transition, { action: 'none' }>;
  readonly readingMs: number;
  /** The settings that applied (with overrides), for the alarm's explanation. */
  readonly settings?: Record<string, unknown>;
  readonly detail?: string;
}

export interface RuleOverrideInput {
  readonly ruleId: string;
  readonly scope: OverrideScope;
  readonly scopeId: string;
  readonly settings: Record<string, unknown>;
  readonly enabled: boolean | null;
}

export interface FleetDevice {
  readonly id: string;
  readonly type: string;
  readonly gridCode: string;
  readonly road?: string | null;
  /** Construction site (devices.attrs.site): the `site` override scope. */
  readonly site?: string | null;
}

/** Readings that kept an open alarm open since the last drain: written in batches, not per reading. */
export interface Hold {
  readonly source: string;
  readonly ruleId: string;
  count: number;
  last: number;
  peak: number;
  lastMs: number;
}
