/**
 * The shared lists of the hub, once (issue #12, item 1): roles, severities,
 * case states and actions with their zh/en labels, event facility types, KPI
 * targets and the case-code format. Everything else (the API, the pages, the
 * rule-kind schemas, the SQL) takes them from here; `catalog.test.ts` fails
 * when a copy of one of these lists appears elsewhere in src/.
 */
import type { FacilityType } from './facilities.js';
import { localDateOf } from './working-time.js';

/** A zh-CN label first (the operator UI is Chinese first), and English. */
export interface Label {
  readonly zh: string;
  readonly en: string;
}

/** Who a user is (docs/api.md, "Roles"); `system` is the hub itself, never a login. */
export const roles = ['admin', 'operator', 'supervisor', 'crew', 'viewer', 'inspector'] as const;
export type Role = (typeof roles)[number];

export const roleLabels: Readonly<Record<Role, Label>> = {
  admin: { zh: '管理员', en: 'Administrator' },
  operator: { zh: '值班员', en: 'Operator' },
  supervisor: { zh: '监督员', en: 'Supervisor' },
  crew: { zh: '处置人员', en: 'Crew' },
  viewer: { zh: '查看者', en: 'Viewer' },
  // 网格员 / 信息采集监督员 (issue #16): patrols a grid (the user's areaCode), reports, verifies on site.
  inspector: { zh: '网格员', en: 'Grid inspector' },
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}

/** Roles that act on alarms in the control room: acknowledge, shelve (issue #13). */
export const alarmHandlerRoles: readonly Role[] = ['admin', 'operator', 'supervisor'];
/**
 * Roles that register cases by hand (a 12345 hotline call, an inspector's finding).
 * @alias the alarm handlers today; a name of its own so the two may part.
 */
export const caseRegistrarRoles: readonly Role[] = alarmHandlerRoles;
/**
 * Roles that send device commands (start a pump, dim a lamp, close a valve): the
 * control room runs the city's devices; supervisors and viewers watch (decision 0190).
 */
export const deviceCommandRoles: readonly Role[] = ['admin', 'operator'];
/** Roles that see the whole city or their area (not a crew's own cases). */
export const controlRoomRoles: readonly Role[] = ['admin', 'operator', 'supervisor', 'viewer'];

/** Alarm severities, most urgent first (docs/domain.md, "Alarms and cases"). */
export const severities = ['critical', 'major', 'minor', 'warning'] as const;
export type Severity = (typeof severities)[number];

export const severityLabels: Readonly<Record<Severity, Label>> = {
  critical: { zh: '紧急', en: 'Critical' },
  major: { zh: '重要', en: 'Major' },
  minor: { zh: '一般', en: 'Minor' },
  warning: { zh: '提示', en: 'Warning' },
};

/** 0 for the most urgent: sort worst first, or compare (a lower rank is worse). */
export function severityRank(s: Severity): number {
  return severities.indexOf(s);
}

/** JSON schema of a severity, for the rule-kind schemas and the routes. */
export const severitySchema = { enum: severities } as const;

/** Case states of the digital city-management workflow (立案 registered first). */
export const caseStates = [
  'registered',
  'dispatched',
  'in_handling',
  'handled',
  'verified',
  'closed',
  'returned',
  'deferred',
  'cancelled',
] as const;
export type CaseState = (typeof caseStates)[number];

export const caseStateLabels: Readonly<Record<CaseState, Label>> = {
  registered: { zh: '已立案', en: 'Registered' },
  dispatched: { zh: '已派遣', en: 'Dispatched' },
  in_handling: { zh: '处置中', en: 'In handling' },
  handled: { zh: '已处置', en: 'Handled' },
  verified: { zh: '已核查', en: 'Verified' },
  closed: { zh: '已结案', en: 'Closed' },
  returned: { zh: '已退回', en: 'Returned' },
  deferred: { zh: '缓办', en: 'Deferred' },
  cancelled: { zh: '已作废', en: 'Cancelled' },
};

/** States a case is still being worked on in (not closed, not cancelled). */
export const openCaseStates: readonly CaseState[] = caseStates.filter(
  (s) => s !== 'closed' && s !== 'cancelled',
);

/** Case workflow actions; who may take which, from which state: cases/workflow.ts. */
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

export const caseActionLabels: Readonly<Record<CaseAction, Label>> = {
  dispatch: { zh: '派遣', en: 'Dispatch' },
  reassign: { zh: '改派', en: 'Reassign' },
  accept: { zh: '签收', en: 'Accept' },
  return: { zh: '退回', en: 'Return' },
  handle: { zh: '反馈', en: 'Report handled' },
  verify: { zh: '核查通过', en: 'Verify' },
  rework: { zh: '返工', en: 'Rework' },
  close: { zh: '结案', en: 'Close' },
  cancel: { zh: '作废', en: 'Cancel' },
  defer: { zh: '缓办', en: 'Defer' },
  resume: { zh: '恢复', en: 'Resume' },
  extend: { zh: '延期', en: 'Extend' },
  comment: { zh: '备注', en: 'Comment' },
};

/** Where a case came from. */
export const caseSources = ['alarm', 'hotline', 'inspection', 'other', 'citizen'] as const;
export type CaseSource = (typeof caseSources)[number];

/**
 * Alarms on a broken facility are 部件 (component) cases; conditions such as
 * ponding, dust or a gas leak are 事件 (event) cases (GB/T 30428.2).
 */
export const eventFacilityTypes: readonly FacilityType[] = ['waterlogging', 'dust_noise', 'gas'];

export function caseKindOf(type: FacilityType | 'all' | null): 'component' | 'event' {
  return type !== null && type !== 'all' && eventFacilityTypes.includes(type)
    ? 'event'
    : 'component';
}

/** The KPIs a rate is judged against (docs/cases.md, "KPIs"). */
export const kpiNames = [
  'lightingRate',
  'integrityRate',
  'onlineRate',
  'closureRate',
  'onTimeClosureRate',
  'reworkRate',
] as const;
export type KpiName = (typeof kpiNames)[number];

export interface KpiTarget {
  readonly value: number;
  /** `min`: at least the value is good; `max`: at most. */
  readonly direction: 'min' | 'max';
  readonly label: Label;
  readonly source: string;
}

/**
 * Targets of the control room's cards. Lighting ≥ 98 % (seed 002: 亮灯率不低于
 * 98%) and integrity ≥ 95 % (seeds 001, 003) are municipal lines; the case
 * rates have no municipal line in the seeds, so they are engineering defaults
 * below the levels a city reports (docs/domain.md: Fuzhou 2024 Q1 结案率
 * 99.99 %, 按期结案率 99.83 %, 返工率 0.05 %); online ≥ 95 % is a default too.
 */
export const kpiTargets: Readonly<Record<KpiName, KpiTarget>> = {
  lightingRate: {
    value: 0.98,
    direction: 'min',
    label: { zh: '亮灯率', en: 'Lighting rate' },
    source: 'seed 002',
  },
  integrityRate: {
    value: 0.95,
    direction: 'min',
    label: { zh: '设施完好率', en: 'Facility integrity' },
    source: 'seeds 001, 003',
  },
  onlineRate: {
    value: 0.95,
    direction: 'min',
    label: { zh: '在线率', en: 'Online rate' },
    source: 'default',
  },
  closureRate: {
    value: 0.95,
    direction: 'min',
    label: { zh: '结案率', en: 'Closure rate' },
    source: 'default',
  },
  onTimeClosureRate: {
    value: 0.9,
    direction: 'min',
    label: { zh: '按期结案率', en: 'On-time closure' },
    source: 'default',
  },
  reworkRate: {
    value: 0.05,
    direction: 'max',
    label: { zh: '返工率', en: 'Rework rate' },
    source: 'default',
  },
};

/** Labels of the area levels of the four-level network (grid.ts). */
export const areaLevelLabels = {
  city: { zh: '市', en: 'City' },
  district: { zh: '区', en: 'District' },
  street: { zh: '街道', en: 'Street' },
  community: { zh: '社区', en: 'Community' },
  grid: { zh: '网格', en: 'Grid' },
} as const satisfies Record<string, Label>;

/** Alarm lifecycle states. */
export const alarmStates = ['open', 'cleared'] as const;
export type AlarmState = (typeof alarmStates)[number];

/**
 * The case code read out over the phone: `AJ-` + the city's local date +
 * the case id (e.g. AJ-20261123-000042). The date is the registration time
 * in CITY_TIMEZONE, from the caller's (injected) clock.
 */
export function caseCodePrefix(at: Date, timeZone: string): string {
  return `AJ-${localDateOf(at.getTime(), timeZone).replaceAll('-', '')}-`;
}

/** Digits of the id part of a case code. */
export const caseCodeIdWidth = 6;

export function caseCode(id: number, at: Date, timeZone: string): string {
  return caseCodePrefix(at, timeZone) + String(id).padStart(caseCodeIdWidth, '0');
}
