import type { QueryResult } from 'pg';

/**
 * Statements sent on one connection without awaiting each: node-postgres
 * sends the next one as soon as the previous one's answer arrives, with no
 * turn of the event loop between them (what a busy loop makes slow on the
 * alarm → case path, issue #17). A transaction awaits them all before it
 * counts as done. PostgreSQL answers the COMMIT of a transaction in which
 * one of them failed with a rollback, so nothing half-done commits. The COMMIT
 * itself may be queued behind them, so what runs when a queued statement
 * answers must only collect its result: an exception there comes after the
 * COMMIT.
 */
export function queuedStatements() {
  const all: Promise<unknown>[] = [];
  return {
    add<T>(statement: Promise<T>): Promise<T> {
      // Handled here; the failure is thrown by settled() or failure().
      statement.catch(() => {});
      all.push(statement);
      return statement;
    },
    /** Waits for every queued statement in order; throws the first failure. */
    async settled(): Promise<void> {
      for (const p of all) await p;
    },
    /** The first failure among the queued statements, once all are answered. */
    async failure(): Promise<unknown> {
      const results = await Promise.allSettled(all);
      return results.find((r) => r.status === 'rejected')?.reason;
    },
  };
}

/** Throws when a COMMIT (last of a multi-statement query) was answered as a rollback. */
export function assertCommitted(answer: QueryResult | QueryResult[]): void {
  const last = Array.isArray(answer) ? answer[answer.length - 1] : answer;
  if (last?.command === 'ROLLBACK') throw new Error('the transaction was rolled back at COMMIT');
}

/**
 * A value as an SQL literal, escaped by node-postgres (quotes doubled, `E''`
 * where a backslash needs it): for the statements a transaction sends with
 * its COMMIT in one simple-protocol message, which takes no parameters
 * (decision 0214). Callers add a cast where the context gives no type.
 */
export function sqlLiteral(
  client: { escapeLiteral(text: string): string },
  value: string | number | null,
): string {
  return value === null ? 'NULL' : client.escapeLiteral(String(value));
}

/**
 * A parametrised statement with its values written in as literals, for a
 * simple-protocol message that carries other statements too (the alarm
 * transaction's BEGIN, #17). A quoted literal is an untyped constant, as an
 * untyped parameter is, so the server resolves types the same way. Null when
 * a value is not a string, number, boolean or null (arrays, objects, Dates
 * keep the extended protocol).
 */
export function inlineParameters(
  client: { escapeLiteral(text: string): string },
  text: string,
  values: readonly unknown[] = [],
): string | null {
  const literals: string[] = [];
  for (const v of values) {
    if (v === null || v === undefined) literals.push('NULL');
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      literals.push(client.escapeLiteral(String(v)));
    } else return null;
  }
  let missing = false;
  const sql = text.replace(/\$(\d+)/g, (_, n: string) => {
    const literal = literals[Number(n) - 1];
    if (literal === undefined) missing = true;
    return literal ?? '';
  });
  return missing ? null : sql;
}
