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
export { checkWebhookUrl, isPublicAddress, maskUrl, publicOnlyLookup } from './webhook-targets.js';
