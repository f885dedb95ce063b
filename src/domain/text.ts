/**
 * Text PostgreSQL cannot store (issue #11): a NUL character, refused in text
 * and jsonb alike, and a UTF-16 surrogate without its pair, which jsonb
 * refuses as an escape and text silently turns into U+FFFD.
 */
const unstorable = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const unstorableAll = new RegExp(unstorable.source, 'g');

export function isStorableText(s: string): boolean {
  return !unstorable.test(s);
}

/** Where the first unstorable character is (UTF-16 index), or -1. */
export function firstUnstorableIndex(s: string): number {
  return unstorable.exec(s)?.index ?? -1;
}

/** The text with each unstorable character replaced by U+FFFD, for records that must be written. */
export function toStorableText(s: string): string {
  return unstorable.test(s) ? s.replace(unstorableAll, '\uFFFD') : s;
}

/** A JSON value with every string and key made storable (jsonb refuses `\u0000` and lone surrogates). */
export function toStorableJson(value: unknown): unknown {
  if (typeof value === 'string') return toStorableText(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(toStorableJson);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[toStorableText(k)] = toStorableJson(v);
  return out;
}
