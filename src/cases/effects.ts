import {
  findDeadline,
  findRoute,
  getCrew,
  type Deadline,
  type Queryable,
  type Route,
} from '../db/index.js';
import {
  HubError,
  type CaseDetail,
  type CaseEffect,
  type CaseFields,
  type CaseState,
} from '../domain/index.js';
import { nextState, transitions, type CaseAction } from './workflow.js';

export interface ActionBody {
  readonly note?: string;
  readonly reason?: string;
  readonly crewId?: string;
  readonly hours?: number;
  readonly photoIds?: number[];
}

/** What an action asks of the case besides its new state; the db maps it to columns. */
export interface ActionEffect extends CaseEffect {
  /** Carried on the timeline entry. */
  readonly data?: Record<string, unknown>;
  /** The crew that had the case, when the action takes it away (return, reassignment). */
  readonly prevCrewId?: string | null;
}

/** What the caller already read for this action (registration's auto-dispatch). */
export interface Known {
  readonly route: Route;
  readonly deadline: Deadline | null;
}

export interface EffectContext {
  readonly db: Queryable;
  readonly current: CaseDetail;
  readonly body: ActionBody;
  readonly at: string;
  readonly known?: Known;
  /** A deadline `minutes` after `startIso`, in calendar or working time. */
  deadlineAfter(startIso: string, minutes: number, unit: Deadline['unit']): Promise<string>;
}

const minute = 60_000;
const hour = 3_600_000;

/** Dispatch and reassignment: to the crew named, or the routing table's. */
async function toCrew({ db, current, body, at, known }: EffectContext): Promise<ActionEffect> {
  let route: Route | null;
  if (body.crewId) {
    const crew = await getCrew(db, body.crewId);
    if (!crew) throw new HubError('HUB_ERR_BAD_REQUEST', `no crew ${body.crewId}`);
    route = { departmentId: crew.departmentId, crewId: crew.id };
  } else {
    route =
      known?.route ??
      (await findRoute(db, current.facilityType, current.gridCode, current.categoryCode));
  }
  if (!route) {
    throw new HubError(
      'HUB_ERR_NO_ROUTE',
      `${current.facilityType ?? 'no facility type'} in ${current.gridCode ?? 'no area'}`,
    );
  }
  const d = known ? known.deadline : await findDeadline(db, current.severity, current.facilityType);
  return dispatchTo(route, d, at, current.crewId);
}

/**
 * The effect of a dispatch to `route` at `at` of a case `currentCrewId` had:
 * needs no read, so registration can send it with its insert (#17).
 */
export function dispatchTo(
  route: Route,
  d: Deadline | null,
  at: string,
  currentCrewId: string | null,
): ActionEffect {
  return {
    set: {
      departmentId: route.departmentId,
      crewId: route.crewId,
      dispatchedAt: at,
      acceptedAt: null,
      acceptOverdue: false,
      acceptDueAt: d ? new Date(Date.parse(at) + d.acceptMinutes * minute).toISOString() : null,
    },
    data: { departmentId: route.departmentId, crewId: route.crewId },
    prevCrewId: currentCrewId !== route.crewId ? currentCrewId : null,
  };
}

/** Back in the control room (returned, resumed): a new dispatch deadline from now. */
async function newDispatchDeadline(ctx: EffectContext): Promise<CaseFields> {
  const d = await findDeadline(ctx.db, ctx.current.severity, ctx.current.facilityType);
  if (!d) return {};
  return {
    dispatchDueAt: await ctx.deadlineAfter(ctx.at, d.dispatchMinutes, d.dispatchUnit),
    dispatchOverdue: false,
  };
}

/**
 * The effect of each action (docs/cases.md), beside the state the transition
 * table gives: a typed change of the case's fields, never columns.
 */
export const actionEffects: {
  readonly [A in CaseAction]: (ctx: EffectContext) => ActionEffect | Promise<ActionEffect>;
} = {
  dispatch: toCrew,
  reassign: toCrew,
  accept: ({ at }) => ({ set: { acceptedAt: at } }),
  return: async (ctx) => ({
    set: { crewId: null, ...(await newDispatchDeadline(ctx)) },
    prevCrewId: ctx.current.crewId,
  }),
  handle: ({ at, body }) => ({
    set: { handledAt: at },
    data: body.photoIds?.length ? { photoIds: body.photoIds } : {},
  }),
  verify: ({ at }) => ({ set: { verifiedAt: at } }),
  rework: () => ({ set: { verifiedAt: null }, bump: ['reworkCount'] }),
  close: ({ at }) => ({ set: { closedAt: at } }),
  cancel: ({ body }) => ({ set: { cancelledReason: body.reason ?? null } }),
  defer: ({ at }) => ({ set: { deferredAt: at } }),
  resume: async (ctx) => ({ set: { deferredAt: null, ...(await newDispatchDeadline(ctx)) } }),
  extend: ({ current, body, at }) => {
    const hours = body.hours ?? 0;
    const dueAt = new Date(Date.parse(current.dueAt ?? at) + hours * hour).toISOString();
    return {
      set: { dueAt, nextEscalationAt: dueAt, overdue: false },
      bump: ['extensionCount'],
      data: { hours: body.hours },
    };
  },
  comment: () => ({ set: {} }),
};

/** The state after `action`, once its body has what the transition table demands. */
export function checkAction(current: CaseDetail, action: CaseAction, body: ActionBody): CaseState {
  const to = nextState(current.state, action);
  if (!to) {
    throw new HubError(
      'HUB_ERR_CASE_TRANSITION',
      `${action} is not allowed from ${current.state} (case ${current.code})`,
    );
  }
  const t = transitions[action];
  if (t.requires === 'reason' && !body.reason?.trim()) {
    throw new HubError('HUB_ERR_BAD_REQUEST', `${action} needs a reason`);
  }
  if (t.requires === 'note' && !body.note?.trim()) {
    throw new HubError('HUB_ERR_BAD_REQUEST', `${action} needs a note`);
  }
  if (t.requires === 'hours' && !(body.hours && body.hours > 0)) {
    throw new HubError('HUB_ERR_BAD_REQUEST', `${action} needs hours > 0`);
  }
  return to;
}
