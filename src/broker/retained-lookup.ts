import { createRequire } from 'node:module';
import { Readable } from 'node:stream';

/**
 * How the gateway's stores answer a SUBSCRIBE's retained messages (#17): each
 * exact filter by key, the wildcard filters by the key range under their
 * common literal prefix (stores.ts, level-store.ts).
 */
/** A retained PUBLISH as the stores keep it (aedes wraps it in a Packet again). */
export interface RetainedPacket {
  readonly topic: string;
  readonly payload: Buffer | string;
  readonly [key: string]: unknown;
}

interface TopicMatcher {
  add(pattern: string): void;
  test(topic: string): boolean;
}

const require = createRequire(import.meta.url);
// The same matcher and options the aedes stores use, so wildcard answers do not change.
const { QlobberTrue } = require('qlobber') as { QlobberTrue: new (o: object) => TopicMatcher };
const qlobberOptions = {
  wildcard_one: '+',
  wildcard_some: '#',
  separator: '/',
  match_empty_levels: true,
};
export const msgpack = require('msgpack-lite') as { decode(b: Buffer): RetainedPacket };

const isWildcard = (filter: string) => filter.includes('+') || filter.includes('#');

/** The part of a wildcard filter before its first wildcard: every match starts with it. */
export function literalPrefix(filter: string): string {
  const plus = filter.indexOf('+');
  const hash = filter.indexOf('#');
  const cut = Math.min(plus < 0 ? filter.length : plus, hash < 0 ? filter.length : hash);
  return filter.slice(0, cut);
}

function commonPrefix(strings: readonly string[]): string {
  let prefix = strings[0] ?? '';
  for (const s of strings) while (!s.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix;
}

/**
 * The retained messages for the filters of one SUBSCRIBE: each exact filter
 * by key, then the wildcard filters through `scan` (candidates under their
 * common literal prefix, tested here), each topic once.
 */
/**
 * Aedes pipes the retained stream without an error handler: a store error (the
 * store closing at shutdown while a SUBSCRIBE is answered) would crash the
 * process. The subscriber goes without its retained messages instead.
 */
export async function* failSafe(
  packets: AsyncIterable<RetainedPacket>,
  onError: (err: unknown) => void,
): AsyncGenerator<RetainedPacket> {
  try {
    yield* packets;
  } catch (err) {
    onError(err);
  }
}

export async function* retainedFor(
  filters: readonly string[],
  get: (topic: string) => Promise<RetainedPacket | undefined> | RetainedPacket | undefined,
  scan: (
    prefix: string,
  ) => AsyncIterable<[string, () => RetainedPacket]> | Iterable<[string, () => RetainedPacket]>,
): AsyncGenerator<RetainedPacket> {
  const sent = new Set<string>();
  const wildcards: string[] = [];
  for (const filter of filters) {
    if (isWildcard(filter)) {
      wildcards.push(filter);
      continue;
    }
    if (sent.has(filter)) continue;
    const packet = await get(filter);
    if (packet) {
      sent.add(filter);
      yield packet;
    }
  }
  if (wildcards.length === 0) return;
  const matcher = new QlobberTrue(qlobberOptions);
  for (const w of wildcards) matcher.add(w);
  for await (const [topic, load] of scan(commonPrefix(wildcards.map(literalPrefix)))) {
    if (!sent.has(topic) && matcher.test(topic)) yield load();
  }
}

/** The stream Aedes pipes to a subscriber: retainedFor, ended (not crashed) by a store error. */
export function retainedStream(
  filters: readonly string[],
  get: Parameters<typeof retainedFor>[1],
  scan: Parameters<typeof retainedFor>[2],
  onError: (err: unknown) => void,
): Readable {
  return Readable.from(failSafe(retainedFor(filters, get, scan), onError));
}
