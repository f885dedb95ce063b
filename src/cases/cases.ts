import type { Logger } from 'pino';
import {
  casesNotAccepted,
  casesNotDispatched,
  casesToAutoVerify,
  casesToEscalate,
  findDeadline,
  findRoute,
  getCaseDetail,
  getCrew,
  getScopedCase,
  insertCaseEvent,
  insertManualCase,
  listCalendarDays,
  markCaseRecovered,
  setCaseSeverityFromAlarm,
  parentArea,
  registerCaseForAlarm,
  ruleCasePolicy,
  setCaseDeadlines,
  setNextEscalation,
  updateCaseRow,
  type ManualCaseInput,
  type Pool,
  type Queryable,
} from '../db/index.js';
import {
  HubError,
  areaAt,
  caseCodePrefix,
  caseRegistrarRoles,
  addDeadline,
  caseScopeOf,
  parseWorkingPeriods,
  systemActor,
  type WorkingCalendar,
  type WorkingPeriod,
  type Actor,
  type AlarmRecord,
  type CaseDetail,
  type CaseState,
} from '../domain/index.js';
import { caseEventsChannel } from './feed.js';
import { nextState, roleMay, transitions, type CaseAction } from './workflow.js';

export type CaseChange = {
  reason: 'created' | 'recovered' | 'updated';
  case: CaseDetail;
  action: string;
  /** The crew that had the case before this change, when it changed (reassignment). */
  prevCrewId: string | null;
};
export type CaseListener = (change: CaseChange) => void;

export interface ActionBody {
  readonly note?: string;
  readonly reason?: string;
  readonly crewId?: string;
  readonly hours?: number;
  readonly photoIds?: number[];
}

export interface CaseServiceOptions {
  /** The clock; tests inject a fake one (style.md, lesson 2). */
  readonly now?: () => Date;
  /** IANA time zone of the city (CITY_TIMEZONE): case codes, months, working time. */
  readonly timeZone?: string;
  /** Working periods of a working day (WORKING_HOURS); default 08:30–12:00, 13:30–17:30. */
  readonly workingPeriods?: readonly WorkingPeriod[];
}

const minute = 60_000;
const calendarTtlMs = 60_000;
/**
 * Transaction advisory lock every case change takes before its versions, on
 * every node: versions commit in order, so a feed that reads after a cursor
 * never skips one (decision 0110).
 */
export const caseVersionLockKey = 0x48_55_42_63;

/**
 * The case workflow (docs/cases.md). Every change runs under one in-process
 * lock and, across nodes, a transaction advisory lock; it updates the case
 * with the next version and stores the event with the same version in one
 * transaction, then tells this node's listeners (webhooks). Sockets get the
 * changes of every node from the case feed (`feed.ts`), in version order.
 */
export function createCaseService(pool: Pool, logger: Logger, options: CaseServiceOptions = {}) {
  const now = options.now ?? (() => new Date());
  const timeZone = options.timeZone ?? 'Asia/Shanghai';
  const periods = options.workingPeriods ?? parseWorkingPeriods('08:30-12:00,13:30-17:30');
  let calendarCache: Promise<WorkingCalendar> | null = null;
  let calendarLoadedMs = 0;

  /**
   * The working calendar: holidays and make-up days from `work_calendar`. Reloaded
   * after a change through this node's API, and at least every minute, so a change
   * made through another hub node applies here within a minute.
   */
  function calendar(db: Queryable = pool): Promise<WorkingCalendar> {
    if (calendarCache && performance.now() - calendarLoadedMs < calendarTtlMs) return calendarCache;
    calendarLoadedMs = performance.now();
    // On the caller's connection: inside a transaction, a second one may not be free.
    const loading = listCalendarDays(db).then((days) => ({
      timeZone,
      periods,
      holidays: new Set(days.filter((d) => d.kind === 'holiday').map((d) => d.date)),
      workdays: new Set(days.filter((d) => d.kind === 'workday').map((d) => d.date)),
    }));
    calendarCache = loading;
    // A failed load is retried next time rather than cached.
    loading.catch(() => {
      if (calendarCache === loading) calendarCache = null;
    });
    return loading;
  }
  const deadlineAfter = async (
    db: Queryable,
    startIso: string,
    minutes: number,
    unit: 'calendar' | 'working',
  ) => addDeadline(new Date(startIso), minutes, unit, await calendar(db)).toISOString();
  const listeners: CaseListener[] = [];
  let chain: Promise<unknown> = Promise.resolve();

  function withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = chain.then(fn, fn);
    chain = run.catch(() => {});
    return run;
  }

  const emit = (change: CaseChange) => {
    for (const l of listeners) {
      try {
        l(change);
      } catch (err) {
        logger.error({ err }, 'case listener failed');
      }
    }
  };

  /** Stores the event for a change already applied on `client`, and commits. */
  async function record(
    db: Queryable,
    c: CaseDetail,
    e: {
      action: string;
      reason: CaseChange['reason'];
      from: CaseState | null;
      actor: Actor;
      note?: string | null;
      data?: Record<string, unknown>;
      prevCrewId?: string | null;
      at: string;
    },
  ): Promise<CaseChange> {
    await insertCaseEvent(db, {
      version: c.version,
      caseId: c.id,
      at: e.at,
      action: e.action,
      reason: e.reason,
      fromState: e.from,
      toState: c.state,
      actorId: e.actor.id,
      actorName: e.actor.username,
      note: e.note ?? null,
      data: e.data ?? {},
      crewId: c.crewId,
      prevCrewId: e.prevCrewId ?? null,
      district: c.gridCode ? areaAt(c.gridCode, 'district') : null,
      snapshot: c,
    });
    return { reason: e.reason, case: c, action: e.action, prevCrewId: e.prevCrewId ?? null };
  }
  /** The timeline entry of a change the hub itself made to a case (telemetry, not a person). */
  async function systemChange(
    db: Queryable,
    caseId: number,
    e: {
      action: string;
      reason: CaseChange['reason'];
      at: string;
      note?: string;
      data?: Record<string, unknown>;
    },
  ): Promise<CaseChange[]> {
    const full = (await getCaseDetail(db, caseId))!;
    return [await record(db, full, { ...e, from: full.state, actor: systemActor })];
  }

  /** Runs `fn` in a transaction on one client; the changes it returns are emitted after COMMIT. */
  async function transaction(fn: (db: Queryable) => Promise<CaseChange[]>): Promise<CaseChange[]> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [caseVersionLockKey]);
      const changes = await fn(client);
      // Delivered at COMMIT, to the case feed of every node.
      if (changes.length > 0) await client.query(`SELECT pg_notify($1, '')`, [caseEventsChannel]);
      await client.query('COMMIT');
      for (const c of changes) emit(c);
      return changes;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async function setDeadline(db: Queryable, c: CaseDetail): Promise<CaseDetail> {
    const d = await findDeadline(db, c.severity, c.facilityType);
    if (!d) return c;
    const deadlines = {
      dueAt: await deadlineAfter(db, c.createdAt, d.handleMinutes, d.unit),
      unit: d.unit,
      handleMinutes: d.handleMinutes,
      dispatchDueAt: await deadlineAfter(db, c.createdAt, d.dispatchMinutes, d.dispatchUnit),
    };
    // The registration event already took this version; the deadlines ride on it.
    await setCaseDeadlines(db, c.id, deadlines);
    return {
      ...c,
      dueAt: deadlines.dueAt,
      dispatchDueAt: deadlines.dispatchDueAt,
      deadlineUnit: d.unit,
      handleMinutes: d.handleMinutes,
    };
  }

  /** Back in the control room (returned, resumed): a new dispatch deadline from `at`. */
  async function newDispatchDeadline(
    db: Queryable,
    c: CaseDetail,
    at: string,
    patch: Record<string, unknown>,
  ): Promise<void> {
    const d = await findDeadline(db, c.severity, c.facilityType);
    if (!d) return;
    patch.dispatch_due_at = await deadlineAfter(db, at, d.dispatchMinutes, d.dispatchUnit);
    patch.dispatch_overdue = false;
  }

  /** Applies one action; checks role, crew ownership and the transition table. */
  async function apply(
    db: Queryable,
    actor: Actor,
    current: CaseDetail,
    action: CaseAction,
    body: ActionBody,
    at: string,
  ): Promise<CaseChange> {
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
    const patch: Record<string, unknown> = { state: to };
    const bump: string[] = [];
    const data: Record<string, unknown> = {};
    let prevCrewId: string | null = null;
    switch (action) {
      case 'dispatch':
      case 'reassign': {
        let route: { departmentId: string; crewId: string | null } | null = null;
        if (body.crewId) {
          const crew = await getCrew(db, body.crewId);
          if (!crew) throw new HubError('HUB_ERR_BAD_REQUEST', `no crew ${body.crewId}`);
          route = { departmentId: crew.departmentId, crewId: crew.id };
        } else {
          route = await findRoute(db, current.facilityType, current.gridCode);
        }
        if (!route) {
          throw new HubError(
            'HUB_ERR_NO_ROUTE',
            `${current.facilityType ?? 'no facility type'} in ${current.gridCode ?? 'no area'}`,
          );
        }
        const d = await findDeadline(db, current.severity, current.facilityType);
        patch.department_id = route.departmentId;
        patch.crew_id = route.crewId;
        patch.dispatched_at = at;
        patch.accepted_at = null;
        patch.accept_overdue = false;
        patch.accept_due_at = d
          ? new Date(Date.parse(at) + d.acceptMinutes * minute).toISOString()
          : null;
        if (current.crewId !== route.crewId) prevCrewId = current.crewId;
        Object.assign(data, { departmentId: route.departmentId, crewId: route.crewId });
        break;
      }
      case 'accept':
        patch.accepted_at = at;
        break;
      case 'return':
        patch.crew_id = null;
        prevCrewId = current.crewId;
        await newDispatchDeadline(db, current, at, patch);
        break;
      case 'handle':
        patch.handled_at = at;
        if (body.photoIds?.length) data.photoIds = body.photoIds;
        break;
      case 'verify':
        patch.verified_at = at;
        break;
      case 'rework':
        bump.push('rework_count');
        patch.verified_at = null;
        break;
      case 'close':
        patch.closed_at = at;
        break;
      case 'cancel':
        patch.cancelled_reason = body.reason;
        break;
      case 'defer':
        patch.deferred_at = at;
        break;
      case 'resume':
        patch.deferred_at = null;
        await newDispatchDeadline(db, current, at, patch);
        break;
      case 'extend': {
        const base = Date.parse(current.dueAt ?? at);
        patch.due_at = new Date(base + body.hours! * 3600_000).toISOString();
        patch.next_escalation_at = patch.due_at;
        patch.overdue = false;
        bump.push('extension_count');
        data.hours = body.hours;
        break;
      }
      case 'comment':
        break;
    }
    const updated = await updateCaseRow(db, current.id, current.state, at, patch, bump);
    if (!updated) {
      throw new HubError('HUB_ERR_CASE_TRANSITION', `case ${current.code} changed meanwhile`);
    }
    return record(db, updated, {
      action,
      reason: 'updated',
      from: current.state,
      actor,
      note: body.note ?? body.reason ?? null,
      data,
      prevCrewId,
      at,
    });
  }

  /** A case the actor may read or act on; 404 when there is none, 403 outside the actor's scope. */
  async function readScoped(db: Queryable, actor: Actor, caseId: number): Promise<CaseDetail> {
    const found = await getScopedCase(db, caseId, caseScopeOf(actor));
    if (!found) throw new HubError('HUB_ERR_CASE_UNKNOWN', String(caseId));
    if (!found.inScope) {
      throw new HubError(
        actor.role === 'crew' ? 'HUB_ERR_FORBIDDEN' : 'HUB_ERR_OUT_OF_AREA',
        `case ${found.case.code} is not yours`,
      );
    }
    return found.case;
  }

  /**
   * Flags each case once as not dispatched or not accepted in time (an
   * `<step>_overdue` timeline entry); returns how many were flagged.
   */
  async function flagLate(
    late: readonly CaseDetail[],
    iso: string,
    step: 'dispatch' | 'accept',
    fields: readonly (keyof CaseDetail)[],
  ): Promise<number> {
    let flagged = 0;
    for (const c of late) {
      await transaction(async (db) => {
        const updated = await updateCaseRow(db, c.id, c.state, iso, { [`${step}_overdue`]: true });
        if (!updated) return [];
        flagged++;
        return [
          await record(db, updated, {
            action: `${step}_overdue`,
            reason: 'updated',
            from: c.state,
            actor: systemActor,
            data: Object.fromEntries(fields.map((f) => [f, c[f]])),
            at: iso,
          }),
        ];
      });
    }
    return flagged;
  }

  /** Registration is followed at once by automatic dispatch when the routing table knows a crew. */
  async function registerAndDispatch(
    db: Queryable,
    created: CaseDetail,
    actor: Actor,
    at: string,
    reason: 'created',
  ): Promise<CaseChange[]> {
    const withDue = await setDeadline(db, created);
    const changes = [
      await record(db, withDue, { action: 'register', reason, from: null, actor, at }),
    ];
    const route = await findRoute(db, created.facilityType, created.gridCode);
    if (route) {
      changes.push(await apply(db, systemActor, withDue, 'dispatch', {}, at));
    }
    return changes;
  }

  return {
    now,
    timeZone,
    calendar,
    /** Drops the cached calendar after `/api/calendar` changed it. */
    reloadCalendar(): void {
      calendarCache = null;
    },
    withLock,
    /** The case as `actor` may read it (throws 404 / 403 as act() does). */
    read: (actor: Actor, caseId: number): Promise<CaseDetail> => readScoped(pool, actor, caseId),
    onChange(listener: CaseListener): void {
      listeners.push(listener);
    },
    /** Resolves when every case change queued so far has been applied and sent. */
    async settled(): Promise<void> {
      await withLock(async () => {});
    },

    async handleAlarm(event: {
      kind: 'opened' | 'cleared' | 'updated';
      alarm: AlarmRecord;
    }): Promise<void> {
      await withLock(async () => {
        if (event.kind === 'updated') {
          await transaction(async (db) => {
            const { severity } = event.alarm;
            const changed = await setCaseSeverityFromAlarm(db, event.alarm.id, severity);
            if (!changed) return [];
            return systemChange(db, changed.case.id, {
              action: 'severity',
              reason: 'updated',
              note: `${changed.previous} → ${severity}`,
              data: { previous: changed.previous, severity },
              at: now().toISOString(),
            });
          });
        } else if (event.kind === 'opened') {
          const policy = await ruleCasePolicy(pool, event.alarm.ruleId);
          if (!policy.openCase) return;
          await transaction(async (db) => {
            const created = await registerCaseForAlarm(
              db,
              event.alarm,
              caseCodePrefix(now(), timeZone),
            );
            if (!created) return [];
            const full = (await getCaseDetail(db, created.id))!;
            logger.info({ caseCode: full.code, alarmId: event.alarm.id }, 'case registered');
            return registerAndDispatch(db, full, systemActor, full.createdAt, 'created');
          });
        } else {
          await transaction(async (db) => {
            const at = event.alarm.clearedAt ?? now().toISOString();
            const recovered = await markCaseRecovered(db, event.alarm.id, at);
            if (!recovered) return [];
            return systemChange(db, recovered.id, { action: 'recover', reason: 'recovered', at });
          });
        }
      });
    },

    /** A case an operator enters (12345 hotline call, inspector's finding). */
    async createManual(actor: Actor, input: ManualCaseInput): Promise<CaseDetail> {
      if (actor.role === 'system' || !caseRegistrarRoles.includes(actor.role)) {
        throw new HubError('HUB_ERR_FORBIDDEN', `${actor.role} may not register cases`);
      }
      return withLock(async () => {
        const at = now().toISOString();
        const changes = await transaction(async (db) => {
          const created = await insertManualCase(
            db,
            input,
            at,
            caseCodePrefix(new Date(at), timeZone),
            caseScopeOf(actor),
          );
          if (!created) {
            throw new HubError(
              'HUB_ERR_OUT_OF_AREA',
              `${input.gridCode ?? 'no grid code'} is outside area ${actor.areaCode}`,
            );
          }
          return registerAndDispatch(db, created, actor, at, 'created');
        });
        return changes[changes.length - 1]!.case;
      });
    },

    async act(
      actor: Actor,
      caseId: number,
      action: CaseAction,
      body: ActionBody = {},
    ): Promise<CaseDetail> {
      if (actor.role === 'system' || actor.role === 'viewer' || !roleMay(actor.role, action)) {
        throw new HubError('HUB_ERR_FORBIDDEN', `${actor.role} may not ${action}`);
      }
      return withLock(async () => {
        const at = now().toISOString();
        // Read under the transaction's advisory lock: another node's change to this case
        // commits first, and this action builds on it instead of overwriting it.
        const [change] = await transaction(async (db) => {
          const current = await readScoped(db, actor, caseId);
          return [await apply(db, actor, current, action, body, at)];
        });
        return change!.case;
      });
    },

    /**
     * Time-driven work (style.md, lesson 2): overdue detection with escalation one
     * level up the four-level network per elapsed deadline period, and auto-verify.
     */
    async tick(at: Date = now()): Promise<{
      escalated: number;
      verified: number;
      notAccepted: number;
      notDispatched: number;
    }> {
      return withLock(async () => {
        const iso = at.toISOString();
        let escalated = 0;
        let verified = 0;
        const notDispatched = await flagLate(await casesNotDispatched(pool, iso), iso, 'dispatch', [
          'dispatchDueAt',
        ]);
        const late = await casesNotAccepted(pool, iso);
        const notAccepted = await flagLate(late, iso, 'accept', ['acceptDueAt', 'crewId']);
        for (const c of await casesToEscalate(pool, iso)) {
          const from = c.escalationArea ?? c.gridCode;
          const up = from ? await parentArea(pool, from) : null;
          // At the top of the four-level network (or with no area) there is no one to escalate to.
          if (up === null && c.overdue) {
            await setNextEscalation(pool, c.id, null);
            continue;
          }
          // One level up per elapsed deadline period, in the deadline's own unit.
          const period =
            c.handleMinutes ?? (Date.parse(c.dueAt!) - Date.parse(c.createdAt)) / minute;
          const next = up === null ? null : await deadlineAfter(pool, iso, period, c.deadlineUnit);
          await transaction(async (db) => {
            const updated = await updateCaseRow(db, c.id, c.state, iso, {
              overdue: true,
              escalation_area: up ?? c.escalationArea,
              escalated_at: iso,
              next_escalation_at: next,
            });
            if (!updated) return [];
            escalated++;
            logger.warn({ caseCode: c.code, escalatedTo: up }, 'case overdue, escalated');
            return [
              await record(db, updated, {
                action: 'escalate',
                reason: 'updated',
                from: c.state,
                actor: systemActor,
                data: { escalatedTo: up, dueAt: c.dueAt },
                at: iso,
              }),
            ];
          });
        }
        for (const c of await casesToAutoVerify(pool, iso)) {
          await transaction(async (db) => {
            const change = await apply(db, systemActor, c, 'verify', {}, iso);
            verified++;
            return [change];
          });
        }
        return { escalated, verified, notAccepted, notDispatched };
      });
    },
  };
}

export type CaseService = ReturnType<typeof createCaseService>;
