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
  transitions,
  availableActions,
  type CaseAction,
  type Role,
  type Transition,
} from './workflow.js';
export { createCaseFeed, type CaseFeed } from './feed.js';
export { createWebhookService, signPayload, type WebhookService } from './webhooks.js';
export { lightingRateOver, lightingSettings } from './lighting.js';
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
  type ReportFigures,
  type ReportService,
} from './reports.js';
export { checkWebhookUrl, maskUrl } from './webhook-targets.js';
export {
  checkedRoute,
  explainRoute,
  removeCaseDeadline,
  setRuleCasePolicy,
} from './administration.js';
export {
  createFieldReportService,
  defaultFieldReportOptions,
  type FieldReportEvent,
  type FieldReportOptions,
  type FieldReportService,
  type StoredPhoto,
} from './field-reports.js';
export { createPatrolService, type PatrolService } from './patrols.js';
