import type { FieldReportChange, VerificationRequest } from './field-reports.js';
import type { AlarmState, CaseState, Severity } from './catalog.js';
import type { FacilityType } from './facilities.js';

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
  /** The version of its latest change (`alarm:changed`); 0 before the first. */
  readonly version: number;
  /** The comment given with the acknowledgement (issue #13). */
  readonly ackComment: string | null;
  /** Shelved (hidden from the console) until then; back earlier when it worsens. */
  readonly shelvedUntil: string | null;
  readonly shelvedBy: string | null;
  readonly shelveComment: string | null;
  /** The rule kind's account of why it fired (kind, detail, aggregate, window). */
  readonly explain: Record<string, unknown> | null;
}

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

/** What happened to an alarm, as the alarm feed tells it (docs/api.md, "socket.io"). */
export const alarmChangeKinds = [
  'opened',
  'severity',
  'flapping',
  'acknowledged',
  'shelved',
  'unshelved',
  'cleared',
] as const;
export type AlarmChangeKind = (typeof alarmChangeKinds)[number];

/** One change of an alarm with the version it took (monotonic across all alarms). */
export interface AlarmChange {
  readonly version: number;
  readonly change: AlarmChangeKind;
  /** The whole alarm after the change. */
  readonly alarm: AlarmRecord;
  /** Who did it (acknowledged, shelved, unshelved), null for the hub itself. */
  readonly by: string | null;
  readonly comment: string | null;
  readonly at: string;
}

/** Open alarms a scope may see, and the alarm version they are current to. */
export interface AlarmSnapshot {
  readonly version: number;
  readonly alarms: AlarmRecord[];
}

/** One device's connection went up or down. */
export interface DeviceStatusChange {
  readonly deviceId: string;
  readonly online: boolean;
  /** When the node saw it (ISO 8601). */
  readonly at: string;
}

/**
 * Every device's connection status, compact for 100,000 devices: `ids[i]` is
 * online when `online[i]` is 1. `version` is what `devices:changed` counts on.
 */
export interface DeviceStatusSnapshot {
  readonly version: number;
  readonly ids: string[];
  readonly online: (0 | 1)[];
}

/** Readings of a watched device: each with its time and the metrics it carried. */
export interface DeviceReadings {
  readonly deviceId: string;
  readonly readings: { readonly ts: string; readonly metrics: Record<string, unknown> }[];
}

/** Answer of a client event that takes an acknowledgement callback. */
export type ClientAck = (
  result: { ok: true } | { ok: false; code: string; message: string },
) => void;

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
   * Sent on connect to admins, operators, supervisors and viewers (an area
   * user: its area only): the open alarms, unless `auth.alarmsSinceVersion`
   * could be answered with the `alarm:changed` events missed since.
   */
  'alarms:snapshot': (snapshot: AlarmSnapshot) => void;
  /** Every change of an alarm the connection may see, in version order. */
  'alarm:changed': (change: AlarmChange) => void;
  /** After `devices:subscribe`: every device's status, compact. */
  'devices:snapshot': (snapshot: DeviceStatusSnapshot) => void;
  /** Status changes, batched (about once a second), with the version they bring the list to. */
  'devices:changed': (batch: {
    fromVersion: number;
    version: number;
    changes: DeviceStatusChange[];
  }) => void;
  /** Readings of a device this connection watches (`device:watch`), batched per 250 ms. */
  'device:readings': (batch: DeviceReadings) => void;
  /**
   * This connection's session ended (docs/api.md, "socket.io"); the server
   * disconnects right after. `user_changed`: the session is still valid but
   * the user's role, crew or area changed; reconnect without `sinceVersion`.
   */
  'session:ended': (ended: { reason: SessionEndReason }) => void;
  /** A field report (上报) arrived, was accepted, rejected or merged (issue #16). */
  'fieldReport:changed': (change: FieldReportChange) => void;
  /** A handled case waits for this inspector's on-site verification (核查). */
  'verification:requested': (request: VerificationRequest) => void;
}

/** socket.io events a client sends (docs/api.md, "socket.io"). */
export interface ClientToServerEvents {
  /** Status snapshot now, then `devices:changed`; control-room roles only. */
  'devices:subscribe': (ack?: ClientAck) => void;
  'devices:unsubscribe': () => void;
  /** Readings of one device, as they arrive (a device drawer); at most 20 at once. */
  'device:watch': (deviceId: string, ack?: ClientAck) => void;
  'device:unwatch': (deviceId: string) => void;
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
