export {
  createCaseService,
  type CaseService,
  type CaseChange,
  type CaseListener,
} from './cases.js';
