/**
 * Grid officers and citizens (issue #16): reports (上报) of a problem found
 * on a patrol or by a citizen, their acceptance (受理) by the control room,
 * patrols with GPS tracks, on-site verification (核查) of a handled case and
 * the citizen's satisfaction rating. "Field report" in code: `/api/reports`
 * already names the evaluation reports (issue #15).
 * The contract: docs/api.md, "Reports (上报), patrols, on-site verification
 * and the public channel".
 */
import type { CaseKind } from './classification.js';
import type { CaseState, Label } from './catalog.js';

/** Who reported: a grid officer on patrol (网格员) or a citizen through the public channel. */
export const fieldReportSources = ['inspection', 'citizen'] as const;
export type FieldReportSource = (typeof fieldReportSources)[number];

/**
 * A report's own states: waiting in the control room's queue (`reported`),
 * accepted as a case (`accepted`, then it follows its case), rejected with a
 * reason, or merged into another report's or case's case (it closes with it).
 */
export const fieldReportStates = ['reported', 'accepted', 'rejected', 'merged'] as const;
export type FieldReportState = (typeof fieldReportStates)[number];

export const fieldReportStateLabels: Readonly<Record<FieldReportState, Label>> = {
  reported: { zh: '待受理', en: 'Reported' },
  accepted: { zh: '已受理', en: 'Accepted' },
  rejected: { zh: '不予受理', en: 'Rejected' },
  merged: { zh: '已合并', en: 'Merged' },
};

/** Why a report is not accepted (不予受理). */
export const rejectReasons = ['invalid', 'duplicate', 'outside_remit'] as const;
export type RejectReason = (typeof rejectReasons)[number];

export const rejectReasonLabels: Readonly<Record<RejectReason, Label>> = {
  invalid: { zh: '无效上报', en: 'Invalid' },
  duplicate: { zh: '重复上报', en: 'Duplicate' },
  outside_remit: { zh: '不属于城市管理范围', en: 'Outside the city’s remit' },
};

/** What a citizen sees of a report by its tracking code: a status, nothing personal. */
export const publicReportStatuses = ['received', 'in_progress', 'closed', 'rejected'] as const;
export type PublicReportStatus = (typeof publicReportStatuses)[number];

export const publicReportStatusLabels: Readonly<Record<PublicReportStatus, Label>> = {
  received: { zh: '已收到，待受理', en: 'Received, awaiting acceptance' },
  in_progress: { zh: '处理中', en: 'In progress' },
  closed: { zh: '已办结', en: 'Closed' },
  rejected: { zh: '不予受理', en: 'Not accepted' },
};

/** The public status of a report from its state and its case's state. */
export function publicReportStatus(
  state: FieldReportState,
  caseState: CaseState | null,
): PublicReportStatus {
  if (state === 'reported') return 'received';
  if (state === 'rejected') return 'rejected';
  if (caseState === 'closed') return 'closed';
  if (caseState === 'cancelled') return 'rejected';
  // Merged into a report still in the queue: received until that one is accepted.
  if (caseState === null) return 'received';
  return 'in_progress';
}

/** The citizen's rating of a closed case (社会满意度评价, seed 002). */
export const satisfactionRatings = ['satisfied', 'fairly', 'not'] as const;
export type SatisfactionRating = (typeof satisfactionRatings)[number];

export const satisfactionRatingLabels: Readonly<Record<SatisfactionRating, Label>> = {
  satisfied: { zh: '满意', en: 'Satisfied' },
  fairly: { zh: '基本满意', en: 'Fairly satisfied' },
  not: { zh: '不满意', en: 'Not satisfied' },
};

/** Ratings that count as satisfied in the satisfaction rate (满意 + 基本满意). */
export const satisfiedRatings: readonly SatisfactionRating[] = ['satisfied', 'fairly'];

/** The outcome of an on-site verification (核查). */
export const verificationResults = ['passed', 'failed'] as const;
export type VerificationResult = (typeof verificationResults)[number];

/** Who verifies handled cases (CASE_VERIFY_BY, docs/cases.md "On-site verification"). */
export const verifyByModes = ['inspector', 'control_room'] as const;
export type VerifyBy = (typeof verifyByModes)[number];

/** Photos a report or a verification carries (multipart `photo` parts). */
export const maxReportPhotos = 5;

/** A report as the control room and its reporter see it. */
export interface FieldReport {
  readonly id: number;
  /** Tracking code (e.g. `SB7K3Q9XPD2M`): unguessable, given to the citizen. */
  readonly code: string;
  readonly source: FieldReportSource;
  readonly state: FieldReportState;
  /** GB/T 30428.2 category (domain/classification.ts). */
  readonly categoryCode: string;
  readonly kind: CaseKind;
  readonly lat: number;
  readonly lon: number;
  /** GPS accuracy in metres, as the phone gave it; null when unknown. */
  readonly accuracyM: number | null;
  /** The grid it lies in: the inspector's grid, else the nearest facility's (docs/api.md). */
  readonly gridCode: string | null;
  readonly note: string | null;
  readonly photoIds: readonly number[];
  /** The inspector; null for a citizen (nothing personal is kept of citizens). */
  readonly reporterId: number | null;
  readonly reporterName: string | null;
  readonly patrolId: number | null;
  readonly createdAt: string;
  /** Accept or reject by then (受理, REPORT_ACCEPT_MINUTES). */
  readonly acceptDueAt: string;
  /** Still `reported` after `acceptDueAt`, or accepted/rejected after it. */
  readonly acceptOverdue: boolean;
  readonly decidedAt: string | null;
  readonly decidedBy: string | null;
  readonly caseId: number | null;
  readonly caseCode: string | null;
  readonly caseState: CaseState | null;
  readonly caseClosedAt: string | null;
  readonly rejectReason: RejectReason | null;
  readonly rejectNote: string | null;
  /** With `rejectReason: 'duplicate'`: the case it duplicates. */
  readonly duplicateOfCaseId: number | null;
  /** When merged: the report it was merged into (null when merged straight into a case). */
  readonly mergedIntoId: number | null;
  readonly rating: SatisfactionRating | null;
  readonly version: number;
}

/** A possible duplicate of a report: same category, near, recent (REPORT_DUPLICATE_*). */
export interface DuplicateCandidate {
  readonly type: 'report' | 'case';
  readonly id: number;
  readonly code: string;
  readonly categoryCode: string;
  readonly distanceM: number;
  readonly createdAt: string;
  /** A report's state or a case's state. */
  readonly state: string;
}

export interface QueueItem {
  readonly report: FieldReport;
  readonly duplicates: readonly DuplicateCandidate[];
}

/** A GPS fix of a patrol's track. */
export interface TrackPoint {
  readonly at: string;
  readonly lat: number;
  readonly lon: number;
  readonly accuracyM: number | null;
}

export interface Patrol {
  readonly id: number;
  readonly inspectorId: number;
  readonly inspectorName: string;
  readonly gridCode: string | null;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly pointCount: number;
  /** Metres along the track, gaps not counted. */
  readonly distanceM: number;
  /** Intervals between consecutive points longer than PATROL_GAP_SECONDS. */
  readonly gapCount: number;
  readonly reportCount: number;
}

/** A case waiting for its on-site verification, with the verification deadline. */
export interface VerificationTask {
  readonly caseId: number;
  readonly caseCode: string;
  readonly title: string;
  readonly categoryCode: string | null;
  readonly gridCode: string | null;
  readonly lat: number | null;
  readonly lon: number | null;
  readonly handledAt: string;
  readonly verifyDueAt: string;
  readonly overdue: boolean;
}

export interface Verification {
  readonly id: number;
  readonly caseId: number;
  readonly result: VerificationResult;
  readonly note: string | null;
  readonly photoIds: readonly number[];
  readonly inspectorId: number | null;
  readonly inspectorName: string;
  readonly at: string;
  readonly dueAt: string | null;
  readonly onTime: boolean;
}

/** What GET /api/public/reports/:code answers: no names, no photos, no coordinates. */
export interface PublicReportView {
  readonly code: string;
  readonly status: PublicReportStatus;
  readonly statusLabel: Label;
  readonly categoryCode: string;
  readonly categoryLabel: Label | null;
  readonly createdAt: string;
  readonly closedAt: string | null;
  readonly canRate: boolean;
  readonly rating: SatisfactionRating | null;
}

/** socket.io payload of `fieldReport:changed` (docs/api.md). */
export interface FieldReportChange {
  readonly reason: 'created' | 'accepted' | 'rejected' | 'merged' | 'updated';
  readonly report: FieldReport;
}

/** socket.io payload of `verification:requested`, to the inspectors of the case's grid. */
export interface VerificationRequest {
  readonly task: VerificationTask;
}

/** Metres between two fixes (equirectangular: exact enough within a city). */
export function metresBetween(
  a: { lat: number; lon: number },
  b: { lat: number; lon: number },
): number {
  const rad = Math.PI / 180;
  const x = (b.lon - a.lon) * rad * Math.cos(((a.lat + b.lat) / 2) * rad);
  const y = (b.lat - a.lat) * rad;
  return 6371000 * Math.sqrt(x * x + y * y);
}

/**
 * A track cut at its gaps: two consecutive fixes (by time) more than
 * `gapSeconds` apart start a new segment (a phone in a pocket, a tunnel,
 * the app in the background). Distance counts within segments only.
 */
export function trackSegments(
  points: readonly TrackPoint[],
  gapSeconds: number,
): { segments: TrackPoint[][]; distanceM: number; gapCount: number } {
  const sorted = [...points].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const segments: TrackPoint[][] = [];
  let distanceM = 0;
  for (const p of sorted) {
    const seg = segments[segments.length - 1];
    const last = seg?.[seg.length - 1];
    if (!seg || !last || Date.parse(p.at) - Date.parse(last.at) > gapSeconds * 1000) {
      segments.push([p]);
    } else {
      distanceM += metresBetween(last, p);
      seg.push(p);
    }
  }
  return {
    segments,
    distanceM: Math.round(distanceM),
    gapCount: Math.max(0, segments.length - 1),
  };
}

/**
 * Whether a user's area code fits its role: an inspector is assigned to a
 * grid (or to every grid of a community, street or district); every other
 * area-scoped user to a district (docs/cases.md). Null when it fits.
 */
export function userAreaProblem(role: string, areaCode: string | null | undefined): string | null {
  if (!areaCode || role === 'inspector' || areaCode.length === 6) return null;
  return 'only an inspector is assigned below a district (areaCode of 6 digits)';
}
