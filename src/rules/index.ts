export { createEvaluator, type Evaluator, type RuleTransition } from './evaluator.js';
export { createAlarmService, type AlarmService, type AlarmListener } from './alarms.js';
export { defaultRulePack } from './rule-pack.js';
export {
  ruleKinds,
  type RuleKindName,
  type Condition,
  type ThresholdSettings,
} from './kinds/index.js';
