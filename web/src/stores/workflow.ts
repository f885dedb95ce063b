import type { CaseDetail } from '@domain/case-workflow.js';
import type { Transition, User } from '../api.js';

/**
 * The actions a user may take on a case now, from the hub's transition table
 * (GET /api/catalog or /api/workflow): a button each. `comment` is left to
 * the timeline's own box. An admin on these screens acts as the control room.
 */
export function actionsFor(
  transitions: Readonly<Record<string, Transition>>,
  user: Pick<User, 'role' | 'crewId'>,
  c: Pick<CaseDetail, 'state' | 'crewId'>,
): string[] {
  if (user.role === 'crew' && c.crewId !== user.crewId) return [];
  return Object.keys(transitions).filter((a) => {
    const t = transitions[a]!;
    const allowed =
      user.role === 'admin' ? t.roles.some((r) => r !== 'crew') : t.roles.includes(user.role);
    return a !== 'comment' && allowed && t.from.includes(c.state);
  });
}

/** What an action's dialog asks for, and whether what was typed will do. */
export interface ActionFields {
  reason: string;
  note: string;
  hours: string;
  crewId: string;
}

export function needsCrew(action: string): boolean {
  return action === 'dispatch' || action === 'reassign';
}

/** Validation errors by field (empty: fine) and the body to post. */
export function validateAction(
  t: Transition,
  action: string,
  f: ActionFields,
): {
  errors: Partial<Record<keyof ActionFields, 'required' | 'hoursRange'>>;
  body: Record<string, unknown>;
} {
  const errors: Partial<Record<keyof ActionFields, 'required' | 'hoursRange'>> = {};
  const body: Record<string, unknown> = {};
  if (t.requires === 'reason') {
    if (!f.reason.trim()) errors.reason = 'required';
    else body.reason = f.reason.trim();
  }
  if (t.requires === 'note') {
    if (!f.note.trim()) errors.note = 'required';
    else body.note = f.note.trim();
  } else if (f.note.trim()) body.note = f.note.trim();
  if (t.requires === 'hours') {
    const h = Number(f.hours);
    if (!/^\d+$/.test(f.hours.trim()) || h < 1 || h > 720) errors.hours = 'hoursRange';
    else body.hours = h;
  }
  if (needsCrew(action) && f.crewId) body.crewId = f.crewId;
  return { errors, body };
}
