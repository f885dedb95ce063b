import type { Logger } from 'pino';
import {
  caseTransaction,
  casesNotAccepted,
  casesNotDispatched,
  casesToAutoVerify,
  casesToEscalate,
  getCaseDetail,
  getScopedCase,
  insertManualCase,
  markCaseRecovered,
  setCaseSeverityFromAlarm,
  parentArea,
  ruleCasePolicy,
  setNextEscalation,
  type CaseEventInput,
  type CaseTransaction,
  type ManualCaseInput,
  type Pool,
  type Queryable,
} from '../db/index.js';
import {
  HubError,
  alarmCategoryOf,
  caseKindOf,
  manualCategoryOf,
  type FacilityType,
  caseCodePrefix,
  caseRegistrarRoles,
  caseScopeOf,
  parseWorkingPeriods,
  systemActor,
  type WorkingPeriod,
  type Actor,
  type AlarmRecord,
  type CaseChange,
  type CaseDetail,
} from '../domain/index.js';
import { registerAlarmCase } from './alarm-registration.js';
import { createDeadlineClock, type Registration } from './deadlines.js';
import { actionEffects, checkAction, type ActionBody, type Known } from './effects.js';
import { roleMay, type CaseAction } from './workflow.js';

export type { ActionBody, CaseChange };
export type CaseListener = (change: CaseChange) => void;

export interface CaseServiceOptions {
  /** The clock; tests inject a fake one (style.md, lesson 2). */
  readonly now?: () => Date;
  /** IANA time zone of the city (CITY_TIMEZONE): case codes, months, working time. */
  readonly timeZone?: string;
  /** Working periods of a working day (WORKING_HOURS); default 08:30–12:00, 13:30–17:30. */
  readonly workingPeriods?: readonly WorkingPeriod[];
}

const minute = 60_000;

/**
 * The case workflow (docs/cases.md). Every change runs under one in-process
 * lock and, across nodes, in a case transaction (db/case-events.ts: advisory
 * lock, notice at COMMIT); it updates the case with the next version and
 * stores the event with the same version, then tells this node's listeners
 * (webhooks). Sockets get the changes of every node from the case feed
 * (`feed.ts`), in version order. Actions yield typed effects (`effects.ts`).
 */
export function createCaseService(pool: Pool, logger: Logger, options: CaseServiceOptions = {}) {
  const now = options.now ?? (() => new Date());
  const timeZone = options.timeZone ?? 'Asia/Shanghai';
  const periods = options.workingPeriods ?? parseWorkingPeriods('08:30-12:00,13:30-17:30');
  const { calendar, reloadCalendar, deadlineAfter, deadlinesOf, registrationOf } =
    createDeadlineClock(pool, timeZone, periods);
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

  /** The timeline entry of a change the hub itself made to a case (telemetry, not a person). */
  async function systemChange(
    tx: CaseTransaction,
    caseId: number,
    e: Omit<CaseEventInput, 'from' | 'actor'>,
  ): Promise<void> {
    const full = await getCaseDetail(tx.db, caseId);
    if (full) tx.record(full, { ...e, from: full.state, actor: systemActor });
  }

  /** Runs `fn` in a case transaction; the changes it records reach listeners after COMMIT. */
  async function transaction<T>(fn: (tx: CaseTransaction) => Promise<T>): Promise<T> {
    const { result, changes } = await caseTransaction(pool, fn);
    for (const c of changes) emit(c);
    return result;
  }

  /** Applies one action; checks the body and the transition table (the caller checked the role). */
  async function apply(
    tx: CaseTransaction,
    actor: Actor,
    current: CaseDetail,
    action: CaseAction,
    body: ActionBody,
    at: string,
    known?: Known,
  ): Promise<CaseChange> {
    const to = checkAction(current, action, body);
    const db = tx.db;
    const effect = await actionEffects[action]({
      db,
      current,
      body,
      at,
      known,
      deadlineAfter: (start, minutes, unit) => deadlineAfter(db, start, minutes, unit),
    });
    const change = await tx.transition(
      current,
      { set: { ...effect.set, state: to }, bump: effect.bump },
      {
        action,
        reason: 'updated',
        actor,
        note: body.note ?? body.reason ?? null,
        data: effect.data,
        prevCrewId: effect.prevCrewId ?? null,
        at,
      },
    );
    if (!change) {
      throw new HubError('HUB_ERR_CASE_TRANSITION', `case ${current.code} changed meanwhile`);
    }
    return change;
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
      await transaction(async (tx) => {
        const change = await tx.transition(
          c,
          { set: step === 'dispatch' ? { dispatchOverdue: true } : { acceptOverdue: true } },
          {
            action: `${step}_overdue`,
            reason: 'updated',
            actor: systemActor,
            data: Object.fromEntries(fields.map((f) => [f, c[f]])),
            at: iso,
          },
        );
        if (change) flagged++;
      });
    }
    return flagged;
  }

  /**
   * Registration is followed at once by automatic dispatch when the routing
   * table knows a crew; returns the case as the last change left it.
   */
  async function registerAndDispatch(
    tx: CaseTransaction,
    created: CaseDetail,
    actor: Actor,
    at: string,
    { deadline, route }: Registration,
  ): Promise<CaseDetail> {
    tx.record(created, { action: 'register', reason: 'created', from: null, actor, at });
    if (!route) return created;
    return (await apply(tx, systemActor, created, 'dispatch', {}, at, { route, deadline })).case;
  }

  return {
    now,
    timeZone,
    calendar,
    /** Drops the cached calendar after `/api/calendar` changed it. */
    reloadCalendar,
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
          await transaction(async (tx) => {
            const { severity } = event.alarm;
            const changed = await setCaseSeverityFromAlarm(tx.db, event.alarm.id, severity);
            if (!changed) return;
            await systemChange(tx, changed.case.id, {
              action: 'severity',
              reason: 'updated',
              note: `${changed.previous} → ${severity}`,
              data: { previous: changed.previous, severity },
              at: now().toISOString(),
            });
          });
        } else if (event.kind === 'opened') {
          const { alarm } = event;
          // Read on other connections while the transaction takes its lock (issue #17: one
          // round trip for both); an empty transaction when the rule opens no case.
          const lookups = Promise.all([
            ruleCasePolicy(pool, alarm.ruleId),
            registrationOf({
              ...alarm,
              categoryCode: alarmCategoryOf(alarm.facilityType, caseKindOf(alarm.facilityType)),
            }),
          ]);
          lookups.catch(() => {}); // thrown where awaited, inside the transaction
          await transaction(async (tx) => {
            const [policy, registration] = await lookups;
            if (!policy.openCase) return;
            // Created at the transaction's time (the column's default), so are its deadlines.
            const deadlines = await deadlinesOf(tx.db, tx.now, registration.deadline);
            const prefix = caseCodePrefix(now(), timeZone);
            const created = await registerAlarmCase(tx, alarm, prefix, deadlines, registration);
            if (created) {
              logger.info({ caseCode: created.code, alarmId: alarm.id }, 'case registered');
            }
          });
        } else {
          await transaction(async (tx) => {
            const at = event.alarm.clearedAt ?? now().toISOString();
            const recovered = await markCaseRecovered(tx.db, event.alarm.id, at);
            if (!recovered) return;
            await systemChange(tx, recovered.id, { action: 'recover', reason: 'recovered', at });
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
        const registration = await registrationOf({
          ...input,
          categoryCode: manualCategoryOf(
            input.categoryCode,
            (input.facilityType as FacilityType | null) ?? null,
            input.kind,
          ),
        });
        return transaction(async (tx) => {
          const created = await insertManualCase(
            tx.db,
            input,
            at,
            caseCodePrefix(new Date(at), timeZone),
            caseScopeOf(actor),
            await deadlinesOf(tx.db, at, registration.deadline),
          );
          if (!created) {
            throw new HubError(
              'HUB_ERR_OUT_OF_AREA',
              `${input.gridCode ?? 'no grid code'} is outside area ${actor.areaCode}`,
            );
          }
          return registerAndDispatch(tx, created, actor, at, registration);
        });
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
        return transaction(async (tx) => {
          const current = await readScoped(tx.db, actor, caseId);
          return (await apply(tx, actor, current, action, body, at)).case;
        });
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
          await transaction(async (tx) => {
            const change = await tx.transition(
              c,
              {
                set: {
                  overdue: true,
                  escalationArea: up ?? c.escalationArea,
                  escalatedAt: iso,
                  nextEscalationAt: next,
                },
              },
              {
                action: 'escalate',
                reason: 'updated',
                actor: systemActor,
                data: { escalatedTo: up, dueAt: c.dueAt },
                at: iso,
              },
            );
            if (!change) return;
            escalated++;
            logger.warn({ caseCode: c.code, escalatedTo: up }, 'case overdue, escalated');
          });
        }
        for (const c of await casesToAutoVerify(pool, iso)) {
          await transaction(async (tx) => {
            await apply(tx, systemActor, c, 'verify', {}, iso);
            verified++;
          });
        }
        return { escalated, verified, notAccepted, notDispatched };
      });
    },
  };
}

export type CaseService = ReturnType<typeof createCaseService>;
