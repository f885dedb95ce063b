import type { FacilityType } from './facilities.js';

/** Alarm severities, most urgent first (docs/domain.md, "Alarms and cases"). */
export const severities = ['critical', 'major', 'minor', 'warning'] as const;
export type Severity = (typeof severities)[number];

export type AlarmState = 'open' | 'cleared';

/** What an alarm is about: one device, or an area (a silent street is one alarm, not 300). */
export type AlarmSourceKind = 'device' | 'grid' | 'street' | 'district' | 'road' | 'hub';

/** Why an alarm fired: enough for an operator to check the rule's arithmetic. */
export interface AlarmRecord {
  readonly id: number;
  /** The device id, or an area source such as `street:430302001` or `road:430302:雨湖路`. */
  readonly source: string;
  readonly sourceKind: AlarmSourceKind;
  /** Null for area alarms. */
  readonly deviceId: string | null;
  readonly ruleId: string;
  readonly ruleVersion: number;
  /** `all` for an area alarm of a fleet-wide rule (a silent street of mixed devices). */
  readonly facilityType: FacilityType | 'all';
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
  /** Opened and cleared too often: held open until the condition is stable (docs/rules.md). */
  readonly flapping: boolean;
  readonly acknowledgedAt: string | null;
  readonly acknowledgedBy: string | null;
  /** The rule kind's account of why it fired (kind, detail, aggregate, window). */
  readonly explain: Record<string, unknown> | null;
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
  /**
   * This connection's session ended (docs/api.md, "socket.io"); the server
   * disconnects right after. `user_changed`: the session is still valid but
   * the user's role, crew or area changed; reconnect without `sinceVersion`.
   */
  'session:ended': (ended: { reason: SessionEndReason }) => void;
}

/** Why a session ended: logout, an admin's or the user's own action, or expiry. */
export type SessionEndReason =
  | 'logout'
  | 'disabled'
  | 'password_changed'
  | 'password_reset'
  | 'user_changed'
  | 'expired'
  | 'revoked';

export type ClientToServerEvents = Record<string, never>;
