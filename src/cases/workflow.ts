import type { CaseState } from '../domain/index.js';

/**
 * The case lifecycle as data (style.md, lesson 11): the seven stages of digital
 * city management (domain.md, "Alarms and cases"; GB/T 30428) plus returned
 * (退回), deferred (缓办), cancelled (作废), rework (返工) and extension (延期).
 * `to: null` keeps the state (extension, comment). Admin may do every action.
 */
export const roles = ['admin', 'operator', 'supervisor', 'crew', 'viewer'] as const;
export type Role = (typeof roles)[number];

export const caseActions = [
  'dispatch',
  'reassign',
  'accept',
  'return',
  'handle',
  'verify',
  'rework',
  'close',
  'cancel',
  'defer',
  'resume',
  'extend',
  'comment',
] as const;
export type CaseAction = (typeof caseActions)[number];

export interface Transition {
  readonly from: readonly CaseState[];
  /** null: the state stays (a record on the timeline only). */
  readonly to: CaseState | null;
  readonly roles: readonly Role[];
  /** What the action needs in its body. */
  readonly requires?: 'reason' | 'note' | 'hours';
  readonly zh: string;
}

const open: readonly CaseState[] = [
  'registered',
  'dispatched',
  'in_handling',
  'handled',
  'verified',
  'returned',
  'deferred',
];

export const transitions: Readonly<Record<CaseAction, Transition>> = {
  // 派遣: to the department/crew of the routing table, or one the operator names.
  dispatch: { from: ['registered', 'returned'], to: 'dispatched', roles: ['operator'], zh: '派遣' },
  reassign: {
    from: ['dispatched', 'in_handling'],
    to: 'dispatched',
    roles: ['operator'],
    zh: '改派',
  },
  // 处置: the crew signs for the case.
  accept: { from: ['dispatched'], to: 'in_handling', roles: ['crew'], zh: '签收' },
  // 退回: wrong department; the control room dispatches again.
  return: {
    from: ['dispatched'],
    to: 'returned',
    roles: ['crew'],
    requires: 'reason',
    zh: '退回',
  },
  // 反馈: the crew reports the fix with a note and optional photos.
  handle: { from: ['in_handling'], to: 'handled', roles: ['crew'], requires: 'note', zh: '反馈' },
  // 核查: a supervisor (or the telemetry itself, see auto-verify) confirms the fix.
  verify: { from: ['handled'], to: 'verified', roles: ['supervisor'], zh: '核查通过' },
  // 返工: verification failed, back to the crew.
  rework: {
    from: ['handled', 'verified'],
    to: 'in_handling',
    roles: ['supervisor'],
    requires: 'reason',
    zh: '返工',
  },
  close: { from: ['verified'], to: 'closed', roles: ['supervisor', 'operator'], zh: '结案' },
  // 作废: false alarm, with a reason.
  cancel: {
    from: ['registered', 'dispatched', 'returned', 'deferred'],
    to: 'cancelled',
    roles: ['operator', 'supervisor'],
    requires: 'reason',
    zh: '作废',
  },
  // 缓办: excluded from the due count of the KPIs.
  defer: {
    from: ['registered', 'dispatched', 'in_handling', 'returned'],
    to: 'deferred',
    roles: ['supervisor'],
    requires: 'reason',
    zh: '缓办',
  },
  resume: { from: ['deferred'], to: 'registered', roles: ['supervisor', 'operator'], zh: '恢复' },
  // 延期: an extension of the deadline; the state stays.
  extend: {
    from: ['dispatched', 'in_handling'],
    to: null,
    roles: ['supervisor'],
    requires: 'hours',
    zh: '延期',
  },
  comment: {
    from: open,
    to: null,
    roles: ['operator', 'supervisor', 'crew'],
    requires: 'note',
    zh: '备注',
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
