import { aggregateKind } from './aggregate.js';
import { eventKind } from './event.js';
import { groupRatioKind } from './group-ratio.js';
import { integrityKind } from './integrity.js';
import { lampOffKind } from './lamp-off.js';
import { levelsKind } from './levels.js';
import { offlineKind } from './offline.js';
import { rateKind } from './rate.js';
import { rateAbuseKind } from './rate-abuse.js';
import { storageDegradedKind } from './storage-degraded.js';
import * as threshold from './threshold.js';

/**
 * The typed registry of rule kinds (style.md, lesson 2): kinds evaluated per
 * reading, and time-driven kinds evaluated from `tick(now)` over the fleet.
 */
export const readingKinds = {
  threshold: threshold.thresholdKind,
  levels: levelsKind,
  aggregate: aggregateKind,
  rate: rateKind,
  event: eventKind,
  'lamp-off': lampOffKind,
} as const;

export const tickKinds = {
  'group-ratio': groupRatioKind,
  integrity: integrityKind,
  offline: offlineKind,
} as const;

/**
 * Kinds fed by the broker or the hub's own state rather than by readings or
 * the fleet tick (`rules/rate-abuse.ts`, `rules/storage-watch.ts`).
 */
export const brokerKinds = {
  'mqtt-rate-abuse': rateAbuseKind,
  'storage-degraded': storageDegradedKind,
} as const;

/** Back-compatible view: every kind's settings schema by name. */
export const ruleKinds = {
  ...Object.fromEntries(
    Object.entries(brokerKinds).map(([k, v]) => [k, { settingsSchema: v.settingsSchema }]),
  ),
  ...Object.fromEntries(
    Object.entries(readingKinds).map(([k, v]) => [k, { settingsSchema: v.settingsSchema }]),
  ),
  ...Object.fromEntries(
    Object.entries(tickKinds).map(([k, v]) => [k, { settingsSchema: v.settingsSchema }]),
  ),
  threshold: {
    settingsSchema: threshold.thresholdSettingsSchema,
    initialState: threshold.initialState,
    evaluate: threshold.evaluate,
  },
} as Record<string, { settingsSchema: object }> & {
  threshold: {
    settingsSchema: typeof threshold.thresholdSettingsSchema;
    initialState: typeof threshold.initialState;
    evaluate: typeof threshold.evaluate;
  };
};

export type ReadingKindName = keyof typeof readingKinds;
export type TickKindName = keyof typeof tickKinds;
export type BrokerKindName = keyof typeof brokerKinds;
export type RuleKindName = ReadingKindName | TickKindName | BrokerKindName;
export const ruleKindNames = [
  ...Object.keys(readingKinds),
  ...Object.keys(tickKinds),
  ...Object.keys(brokerKinds),
] as RuleKindName[];

export function isReadingKind(kind: string): kind is ReadingKindName {
  return Object.hasOwn(readingKinds, kind);
}
export function isTickKind(kind: string): kind is TickKindName {
  return Object.hasOwn(tickKinds, kind);
}

export type { ThresholdSettings, ThresholdState } from './threshold.js';
export type { Condition, Scalar, Transition, Reading, ReadingKind, BaseState } from './types.js';
export type { Level, LevelsSettings } from './levels.js';
export type { AggregateSettings } from './aggregate.js';
export type { RateSettings } from './rate.js';
export type { EventSettings } from './event.js';
export type { LampOffSettings } from './lamp-off.js';
export type { GroupRatioSettings } from './group-ratio.js';
export type { IntegritySettings } from './integrity.js';
export type { OfflineSettings } from './offline.js';
export {
  initialRateAbuseState,
  rateAbuseMinute,
  type RateAbuseSettings,
  type RateAbuseState,
} from './rate-abuse.js';
export {
  initialStorageDegradedState,
  storageDegradedCheck,
  type StorageDegradedSettings,
  type StorageDegradedState,
} from './storage-degraded.js';
export {
  diffActive,
  initialGroupState,
  type ActiveCondition,
  type FleetMember,
  type GroupState,
  type GroupTransition,
  type PriorState,
  type SettingsOf,
  type SettingsTarget,
  type SourceKind,
} from './fleet.js';
export { isLightingTime, isDay, offsetAt, type LightingHours, type DayNight } from './schedule.js';
export { isLit } from './lamp-off.js';
