import type { FacilityType } from './facilities.js';

/** Alarm severities, most urgent first (docs/domain.md, "Alarms and cases"). */
export const severities = ['critical', 'major', 'minor', 'warning'] as const;
export type Severity = (typeof severities)[number];

export type AlarmState = 'open' | 'cleared';

/** Why an alarm fired: enough for an operator to check the rule's arithmetic. */
export interface AlarmRecord {
  readonly id: number;
  readonly deviceId: string;
  readonly ruleId: string;
  readonly ruleVersion: number;
  readonly facilityType: FacilityType;
  readonly gridCode: string;
  readonly severity: Severity;
  readonly state: AlarmState;
  readonly title: string;
  readonly metric: string;
  readonly threshold: number | boolean | string | null;
  readonly lastValue: number | boolean | string | null;
  readonly peakValue: number | null;
  readonly count: number;
  readonly firstReadingAt: string;
  readonly lastReadingAt: string;
  readonly openedAt: string;
  readonly clearedAt: string | null;
}

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

export interface CaseRecord {
  readonly id: number;
  /** Human code shown on screens and read over the phone, e.g. AJ-20261123-00042. */
  readonly code: string;
  /** Monotonic across all cases: a reconnecting client asks for everything after it. */
  readonly version: number;
  readonly state: CaseState;
  readonly kind: 'component' | 'event';
  readonly severity: Severity;
  readonly title: string;
  readonly facilityType: FacilityType | null;
  readonly deviceId: string | null;
  readonly gridCode: string | null;
  readonly alarmId: number | null;
  readonly recoveredAt: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** socket.io events the server sends, shared by the server and the web UI. */
export interface ServerToClientEvents {
  /** Sent once on connect: open cases, newest first, and the version they are current to. */
  'cases:snapshot': (snapshot: { version: number; cases: CaseRecord[] }) => void;
  /** Every change of a case, carrying the whole case. */
  'case:changed': (change: {
    reason: 'created' | 'recovered' | 'updated';
    case: CaseRecord;
    /** Workflow action that caused the change (issue #5), e.g. `dispatch`, `accept`. */
    action?: string;
  }) => void;
}

export type ClientToServerEvents = Record<string, never>;
