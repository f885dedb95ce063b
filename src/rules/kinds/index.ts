import * as threshold from './threshold.js';

/** The typed registry of rule kinds (style.md, lesson 2). Issue #4 adds the others. */
export const ruleKinds = {
  threshold: {
    settingsSchema: threshold.thresholdSettingsSchema,
    initialState: threshold.initialState,
    evaluate: threshold.evaluate,
  },
} as const;

export type RuleKindName = keyof typeof ruleKinds;
export type {
  Condition,
  Scalar,
  ThresholdSettings,
  ThresholdState,
  Transition,
} from './threshold.js';
