import type { Severity } from '../../domain/index.js';

/**
 * What every rule kind shares: a reading in, a transition out. Kinds are pure
 * (style.md, lesson 2): state is a plain JSON object the evaluator owns and
 * checkpoints, time is the reading's own time or the `now` handed to `tick`.
 */

export type Operator = '>' | '>=' | '<' | '<=' | '==' | '!=';
export type Scalar = number | boolean | string;

export interface Condition {
  readonly metric: string;
  readonly op: Operator;
  readonly value: Scalar;
}

export interface Reading {
  readonly timeMs: number;
  readonly metrics: Record<string, unknown>;
}

export type Transition =
  | { readonly action: 'none' }
  | {
      readonly action: 'open';
      readonly firstMs: number;
      readonly value: Scalar;
      readonly threshold?: Scalar;
      readonly severity?: Severity;
    }
  /** An open alarm changes severity (multi-level rules): one alarm, not three. */
  | {
      readonly action: 'severity';
      readonly value: Scalar;
      readonly threshold: Scalar;
      readonly severity: Severity;
      /** Why, when the value alone does not say (e.g. raised by rising, not by level). */
      readonly detail?: string;
    }
  | { readonly action: 'clear'; readonly value: Scalar };

export const none: Transition = { action: 'none' };

/**
 * Every kind's state carries these two, so the evaluator can restore an open
 * alarm. By convention a pending duration is `sinceMs` and a window is
 * `times` (or `rt`): the checkpoint skips states with none of them (idle).
 */
export interface BaseState {
  open: boolean;
  /** Reading time of the last reading that moved the state; MIN_SAFE_INTEGER before any (JSON-safe). */
  lastMs: number;
}

/** A kind evaluated per reading, on the device's own readings. */
export interface ReadingKind<S, P, St extends BaseState> {
  readonly settingsSchema: object;
  /** Settings → whatever evaluation wants precomputed (once per rule, not per reading). */
  prepare(settings: S): P;
  initialState(prepared: P): St;
  evaluate(reading: Reading, prepared: P, state: St): Transition;
  /** The metric whose value an open alarm reports as "last value" and "peak". */
  metricOf(prepared: P): string | null;
  /** Whether the device is due on at `ms` by this rule's schedule (lamps); null when the rule does not say. */
  dueAt?(prepared: P, ms: number): boolean | null;
  /** Drops what the state no longer needs (a window's expired readings) before a checkpoint. */
  compact?(state: St): void;
}

export function test(actual: Scalar, op: Operator, expected: Scalar): boolean {
  switch (op) {
    case '>':
      return actual > expected;
    case '>=':
      return actual >= expected;
    case '<':
      return actual < expected;
    case '<=':
      return actual <= expected;
    case '==':
      return actual === expected;
    case '!=':
      return actual !== expected;
  }
}

export const operatorSchema = { enum: ['>', '>=', '<', '<=', '==', '!='] } as const;

export const conditionsSchema = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    required: ['metric', 'op', 'value'],
    additionalProperties: false,
    properties: {
      metric: { type: 'string', minLength: 1 },
      op: operatorSchema,
      value: { type: ['number', 'boolean', 'string'] },
    },
  },
} as const;
