import type { HubError } from '../domain/index.js';

/**
 * The SQLSTATEs the hub answers by name (PostgreSQL manual, appendix A): the
 * one place they are spelled, so routes speak the error catalogue only
 * (issue #12).
 */
const violations = {
  '23503': 'foreignKey',
  '23505': 'unique',
  '23514': 'check',
} as const;

export type Violation = (typeof violations)[keyof typeof violations];

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A `.catch` for a write: the constraint violations it names become those
 * catalogue errors; anything else is rethrown as it came.
 */
export function violationAs(as: Partial<Record<Violation, HubError>>): (err: unknown) => never {
  return (err) => {
    const state = sqlState(err);
    const kind =
      state && Object.hasOwn(violations, state)
        ? violations[state as keyof typeof violations]
        : undefined;
    const mapped = kind ? as[kind] : undefined;
    if (mapped) throw mapped;
    throw err;
  };
}

/**
 * A data exception (class 22: a value out of range, text PostgreSQL refuses)
 * is bad input the boundary missed: the caller's fault (issue #11).
 */
export function isDataException(err: unknown): boolean {
  const state = sqlState(err);
  return state !== undefined && /^22[0-9A-Z]{3}$/.test(state);
}
