export {
  createCaseService,
  type CaseService,
  type CaseChange,
  type CaseListener,
  type ActionBody,
  type CaseServiceOptions,
} from './cases.js';
export {
  caseActions,
  roles,
  transitions,
  nextState,
  roleMay,
  availableActions,
  type CaseAction,
  type Role,
  type Transition,
} from './workflow.js';
export { createCaseFeed, caseEventsChannel, type CaseFeed } from './feed.js';
export { createWebhookService, signPayload, type WebhookService } from './webhooks.js';
export { lightingRateOver, lightingSettings, nightOf } from './lighting.js';
export {
  createEvaluationService,
  type Evaluation,
  type EvaluationRow,
  type EvaluationService,
} from './evaluation.js';
export {
  createReportService,
  reportKinds,
  reportPeriodKind,
  reportTitles,
  type ReportFigures,
  type ReportService,
} from './reports.js';
export { checkWebhookUrl, isPublicAddress, maskUrl, publicOnlyLookup } from './webhook-targets.js';
export {
  checkedRoute,
  explainRoute,
  removeCaseDeadline,
  setRuleCasePolicy,
} from './administration.js';
