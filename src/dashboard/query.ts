import { HubError } from '../domain/index.js';

/**
 * Times the API takes: 2000-01-01 (the readings floor) up to 2100-01-01.
 * Outside that a time is a typo or an attack, and `new Date()` of it may not
 * even format (issue #11).
 */
export const earliestTimeMs = Date.UTC(2000, 0, 1);
export const latestTimeMs = Date.UTC(2100, 0, 1);

/** ISO 8601: a date, optionally a time with seconds, fraction and offset. */
const iso =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * A time query parameter: epoch ms or ISO 8601 → ms, within 2000..2100; a
 * clear 400 otherwise. Only these two forms: `Date.parse` alone reads
 * `' OR '1'='1` as 2001-01-01.
 */
export function parseTime(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const ms = /^\d{1,15}$/.test(value) ? Number(value) : iso.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) {
    throw new HubError(
      'HUB_ERR_BAD_REQUEST',
      `${name} must be epoch milliseconds or ISO 8601, got ${JSON.stringify(value.slice(0, 40))}`,
    );
  }
  if (ms < earliestTimeMs || ms > latestTimeMs) {
    throw new HubError('HUB_ERR_BAD_REQUEST', `${name} must be between 2000 and 2100`);
  }
  return ms;
}

/** Paging of a list: at most 1,000 rows a page. */
export const page = {
  limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
  offset: { type: 'integer', minimum: 0, default: 0 },
} as const;

/** The `:id` path parameter of a row. */
export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1 } },
} as const;
