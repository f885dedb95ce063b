import type { CaseSource, Role } from './catalog.js';
import type { CaseRecord } from './events.js';
import type { DeadlineUnit } from './working-time.js';

/** A case with its workflow fields (issue #5): who has it, its deadlines and its history counters. */
export interface CaseDetail extends CaseRecord {
  readonly source: CaseSource;
  readonly description: string | null;
  readonly location: string | null;
  readonly lat: number | null;
  readonly lon: number | null;
  readonly departmentId: string | null;
  readonly crewId: string | null;
  readonly dueAt: string | null;
  readonly acceptDueAt: string | null;
  readonly dispatchedAt: string | null;
  readonly acceptedAt: string | null;
  readonly handledAt: string | null;
  readonly verifiedAt: string | null;
  readonly closedAt: string | null;
  readonly cancelledReason: string | null;
  readonly deferredAt: string | null;
  readonly extensionCount: number;
  readonly reworkCount: number;
  readonly overdue: boolean;
  /** Not signed for by the crew within the accept deadline (domain.md: the crew signs within 1 h). */
  readonly acceptOverdue: boolean;
  readonly escalationArea: string | null;
  readonly escalatedAt: string | null;
  /** Verify and dispatch by then (domain.md: within 1 working hour). */
  readonly dispatchDueAt: string | null;
  /** Not dispatched by `dispatchDueAt`. */
  readonly dispatchOverdue: boolean;
  /** Whether `handleMinutes` (registration → `dueAt`) counts calendar or working time. */
  readonly deadlineUnit: DeadlineUnit;
  readonly handleMinutes: number | null;
  /** GB/T 30428.2 部件/事件 class (domain/classification.ts, issue #16). */
  readonly categoryCode: string | null;
}

/** One entry of a case's timeline; `version` is the case version the change took. */
export interface CaseEvent {
  readonly version: number;
  readonly caseId: number;
  readonly at: string;
  readonly action: string;
  readonly fromState: string | null;
  readonly toState: string;
  readonly actorName: string | null;
  readonly note: string | null;
  readonly data: Record<string, unknown>;
}

/** Who acts: a logged-in user, or the hub itself (auto-dispatch, deadlines, auto-verify). */
export interface Actor {
  readonly id: number | null;
  readonly username: string;
  readonly role: Role | 'system';
  readonly crewId: string | null;
  readonly departmentId: string | null;
  readonly areaCode: string | null;
}

export const systemActor: Actor = {
  id: null,
  username: 'system',
  role: 'system',
  crewId: null,
  departmentId: null,
  areaCode: null,
};

/**
 * Whose cases an actor may read and act on, applied in the queries
 * (db/case-workflow.ts, issue #11): a crew only its crew's cases (a crew
 * user without a crew: none); an area-scoped user only cases whose grid code
 * lies in its area, so a case without a grid code is in no area; everyone
 * else every case.
 */
export interface CaseScope {
  readonly crewId: string | null;
  readonly area: string | null;
}

export function caseScopeOf(a: Pick<Actor, 'role' | 'crewId' | 'areaCode'>): CaseScope {
  // '-' is no crew's id (crew ids are letters, digits and dashes after a letter): it matches nothing.
  if (a.role === 'crew') return { crewId: a.crewId ?? '-', area: null };
  return { crewId: null, area: a.areaCode ?? null };
}

/** Why a case changed, as the `case:changed` event names it (docs/api.md). */
export type CaseChangeReason = 'created' | 'recovered' | 'updated';

/** One committed change of a case, as listeners and the case feed get it. */
export interface CaseChange {
  readonly reason: CaseChangeReason;
  readonly case: CaseDetail;
  readonly action: string;
  /** The crew that had the case before this change, when it changed (reassignment). */
  readonly prevCrewId: string | null;
}

/**
 * The fields a case transition may set, in the case's own names: the
 * workflow decides them (cases/), db/case-workflow.ts maps them to columns.
 * `nextEscalationAt` is bookkeeping no screen shows, hence not in CaseDetail.
 */
export type CaseFields = Partial<
  Pick<
    CaseDetail,
    | 'state'
    | 'departmentId'
    | 'crewId'
    | 'dueAt'
    | 'acceptDueAt'
    | 'dispatchedAt'
    | 'acceptedAt'
    | 'handledAt'
    | 'verifiedAt'
    | 'closedAt'
    | 'cancelledReason'
    | 'deferredAt'
    | 'overdue'
    | 'acceptOverdue'
    | 'escalationArea'
    | 'escalatedAt'
    | 'dispatchDueAt'
    | 'dispatchOverdue'
  > & { readonly nextEscalationAt: string | null }
>;

/** History counters a transition raises by one. */
export type CaseCounter = keyof Pick<CaseDetail, 'extensionCount' | 'reworkCount'>;

/** The effect of one transition on its case: fields to set and counters to raise. */
export interface CaseEffect {
  readonly set: CaseFields;
  readonly bump?: readonly CaseCounter[];
}
