export {
  createEvaluator,
  type AlarmSource,
  type Evaluator,
  type FleetDevice,
  type Hold,
  type RuleOverrideInput,
  type RuleTransition,
} from './evaluator.js';
export {
  createAlarmService,
  type AlarmEvent,
  type AlarmListener,
  type AlarmService,
  type AlarmServiceOptions,
} from './alarms.js';
export { cityLightingHours, defaultRulePack, rulePackFor } from './rule-pack.js';
export { mergeSettings, type OverrideTarget } from './overrides.js';
export {
  isDay,
  isLightingTime,
  offsetAt,
  isTickKind,
  type DayNight,
  type LightingHours,
  ruleKindNames,
  ruleKinds,
  type Condition,
  type Reading,
  type RuleKindName,
  type ThresholdSettings,
  type Transition,
} from './kinds/index.js';
export { createRateAbuseWatch, rateAbuseRuleId } from './rate-abuse.js';
export { ruleThresholds, type RuleThreshold } from './thresholds.js';
export { createAlarmDesk, createAlarmFeed, type AlarmDesk, type AlarmFeed } from './alarm-feed.js';
export { createStorageWatch, storageDegradedRuleId } from './storage-watch.js';
