import { caseActions, openCaseStates } from '../domain/index.js';
import type { CaseAction, CaseState, Role } from '../domain/index.js';

/**
 * The case lifecycle as data (style.md, lesson 11): the seven stages of digital
 * city management (domain.md, "Alarms and cases"; GB/T 30428) plus returned
 * (退回), deferred (缓办), cancelled (作废), rework (返工) and extension (延期).
 * `to: null` keeps the state (extension, comment). Admin may do every action.
 */
// The lists live in domain/catalog.ts (issue #12); re-exported for the room's callers.
export { caseActions, type CaseAction, type Role };

export interface Transition {
  readonly from: readonly CaseState[];
  /** null: the state stays (a record on the timeline only). */
  readonly to: CaseState | null;
  readonly roles: readonly Role[];
  /** What the action needs in its body. */
  readonly requires?: 'reason' | 'note' | 'hours';
}

export const transitions: Readonly<Record<CaseAction, Transition>> = {
  // 派遣: to the department/crew of the routing table, or one the operator names.
  dispatch: { from: ['registered', 'returned'], to: 'dispatched', roles: ['operator'] },
  reassign: {
    from: ['dispatched', 'in_handling'],
    to: 'dispatched',
    roles: ['operator'],
  },
  // 处置: the crew signs for the case.
  accept: { from: ['dispatched'], to: 'in_handling', roles: ['crew'] },
  // 退回: wrong department; the control room dispatches again.
  return: {
    from: ['dispatched'],
    to: 'returned',
    roles: ['crew'],
    requires: 'reason',
  },
  // 反馈: the crew reports the fix with a note and optional photos.
  handle: { from: ['in_handling'], to: 'handled', roles: ['crew'], requires: 'note' },
  // 核查: the grid's inspector on site (issue #16; CASE_VERIFY_BY), a supervisor in the
  // control room, or the telemetry itself (auto-verify) confirms the fix. An inspector
  // acts only on cases of its own area (its scope), like any area-scoped user.
  verify: { from: ['handled'], to: 'verified', roles: ['supervisor', 'inspector'] },
  // 返工: verification failed, back to the crew.
  rework: {
    from: ['handled', 'verified'],
    to: 'in_handling',
    roles: ['supervisor', 'inspector'],
    requires: 'reason',
  },
  // An inspector's passed verification closes the case at once (核查通过即结案).
  close: { from: ['verified'], to: 'closed', roles: ['supervisor', 'operator', 'inspector'] },
  // 作废: false alarm, with a reason.
  cancel: {
    from: ['registered', 'dispatched', 'returned', 'deferred'],
    to: 'cancelled',
    roles: ['operator', 'supervisor'],
    requires: 'reason',
  },
  // 缓办: excluded from the due count of the KPIs.
  defer: {
    from: ['registered', 'dispatched', 'in_handling', 'returned'],
    to: 'deferred',
    roles: ['supervisor'],
    requires: 'reason',
  },
  resume: { from: ['deferred'], to: 'registered', roles: ['supervisor', 'operator'] },
  // 延期: an extension of the deadline; the state stays.
  extend: {
    from: ['dispatched', 'in_handling'],
    to: null,
    roles: ['supervisor'],
    requires: 'hours',
  },
  comment: {
    from: openCaseStates,
    to: null,
    roles: ['operator', 'supervisor', 'crew'],
    requires: 'note',
  },
};

/** Whether the role may attempt the action at all (crews: only on their own crew's cases). */
export function roleMay(role: Role, action: CaseAction): boolean {
  return role === 'admin' || transitions[action].roles.includes(role);
}

/** The state after the action, or null when the action is not allowed from `from`. */
export function nextState(from: CaseState, action: CaseAction): CaseState | null {
  const t = transitions[action];
  if (!t.from.includes(from)) return null;
  return t.to ?? from;
}

/** Actions a role may take on a case in a state: the buttons a screen shows. */
export function availableActions(state: CaseState, role: Role): CaseAction[] {
  return caseActions.filter((a) => roleMay(role, a) && transitions[a].from.includes(state));
}
