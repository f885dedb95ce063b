import type { QueryResult } from 'pg';

/*
 * Statements sent as one simple-protocol message (decisions 0214, 0215): the
 * values are written in as literals, since that protocol takes no parameters.
 */

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
  value: string | number | boolean | null,
): string {
  if (value === null) return 'NULL';
  const text = String(value);
  // A NUL would end the message's query string early (a protocol violation that
  // can cost the connection): refused here as PostgreSQL refuses it as a parameter.
  if (text.includes('\u0000')) {
    throw Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), {
      code: '22021',
    });
  }
  return client.escapeLiteral(text);
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
    if (v !== null && v !== undefined && !['string', 'number', 'boolean'].includes(typeof v)) {
      return null;
    }
    literals.push(sqlLiteral(client, (v ?? null) as string | number | boolean | null));
  }
  let missing = false;
  const sql = text.replace(/\$(\d+)/g, (_, n: string) => {
    const literal = literals[Number(n) - 1];
    if (literal === undefined) missing = true;
    return literal ?? '';
  });
  return missing ? null : sql;
}
