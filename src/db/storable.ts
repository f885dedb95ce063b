/**
 * What PostgreSQL can store, and what to do when it refuses (issue 11,
 * "one reading stops all storage"). PostgreSQL text and jsonb hold no NUL
 * character, and jsonb refuses the escape of a lone UTF-16 surrogate; a
 * refused row must not take its batch, or the spool, down with it.
 */

/**
 * JSON.stringify writes NUL and lone surrogates as `\u` escapes (paired
 * surrogates stay raw), so the JSON text of a value tells whether jsonb takes
 * it. `\u` preceded by an even run of backslashes is an escape.
 */
const refusedEscape = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

/**
 * Why PostgreSQL would refuse this JSON text (made by JSON.stringify) as
 * jsonb, or null when it takes it. One native scan for the common case.
 */
export function unstorableJson(json: string): string | null {
  if (json.indexOf('\\u') === -1) return null;
  const m = refusedEscape.exec(json);
  if (!m) return null;
  return m[0].toLowerCase().endsWith('\\u0000')
    ? 'text holds a NUL character (U+0000), which PostgreSQL cannot store'
    : 'text holds a lone UTF-16 surrogate, which is not Unicode and PostgreSQL cannot store';
}

/**
 * Text PostgreSQL can store: NUL characters and lone surrogates become U+FFFD.
 * For what the hub keeps about bad input (dead letters), never for readings.
 */
export function storableText(s: string): string {
  if (s.indexOf('\0') === -1 && s.isWellFormed()) return s;
  return s.replaceAll('\0', '\uFFFD').toWellFormed();
}

/** A JSON value with every string and key made storable, for jsonb records that must be written. */
export function storableJson(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(storableJson);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[storableText(k)] = storableJson(v);
  return out;
}

/**
 * True when retrying the same statement later may succeed: the connection or
 * the server failed (SQLSTATE classes 08, 53, 57, 58, 40, XX, or no SQLSTATE
 * at all: a socket error), or the schema is not what the hub expects (42: a
 * deployment problem to fix, not a reason to drop readings). False for data
 * the server refuses whatever the moment: data exceptions (22), integrity
 * violations (23) and program limits (54).
 */
export function isTransientDbError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || code.length !== 5) return true;
  const cls = code.slice(0, 2);
  return !(cls === '22' || cls === '23' || cls === '54');
}

/** The SQLSTATE and message of a database error, for a dead letter's reason. */
export function describeDbError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return typeof e?.code === 'string' ? `${message} (SQLSTATE ${e.code})` : message;
}

/** Thrown by `writeIsolated` when a transient error stopped it: the ranges not yet written. */
export class UnwrittenError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly ranges: readonly (readonly [number, number])[],
  ) {
    super(`write stopped by a transient error: ${describeDbError(cause)}`);
    this.name = 'UnwrittenError';
  }
}

/**
 * Writes items `0 … n-1` with `write(start, end)`; when the database refuses a
 * range for a non-transient reason, halves it until each refused item stands
 * alone and hands that one to `refused`. Good items are written; one bad row
 * costs about 2·log2(n) statements. A transient error (from `write` or from
 * `refused`) stops the work: `UnwrittenError` carries the ranges not written,
 * in order, for the caller to keep (spool) and retry. Returns how many items
 * were refused.
 */
export async function writeIsolated(
  n: number,
  write: (start: number, end: number) => Promise<void>,
  refused: (index: number, err: unknown) => Promise<void>,
): Promise<number> {
  // A stack of ranges, the next to write on top: order is kept.
  const stack: [number, number][] = [[0, n]];
  let count = 0;
  while (stack.length > 0) {
    const [start, end] = stack.pop()!;
    if (start >= end) continue;
    try {
      await write(start, end);
      continue;
    } catch (err) {
      if (isTransientDbError(err))
        throw new UnwrittenError(err, [[start, end], ...stack.reverse()]);
      if (end - start > 1) {
        const mid = start + Math.ceil((end - start) / 2);
        stack.push([mid, end], [start, mid]);
        continue;
      }
      try {
        await refused(start, err);
        count++;
      } catch (keepErr) {
        throw new UnwrittenError(keepErr, [[start, end], ...stack.reverse()]);
      }
    }
  }
  return count;
}
