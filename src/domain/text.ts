/**
 * Text PostgreSQL cannot store (issue #11): a NUL character, refused in text
 * and jsonb alike, and a UTF-16 surrogate without its pair, which jsonb
 * refuses as an escape and text silently turns into U+FFFD. (Making such text
 * storable for records that must be written: `storableText`, src/db.)
 */
const unstorable = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function isStorableText(s: string): boolean {
  return !unstorable.test(s);
}

/** Where the first unstorable character is (UTF-16 index), or -1. */
export function firstUnstorableIndex(s: string): number {
  return unstorable.exec(s)?.index ?? -1;
}
