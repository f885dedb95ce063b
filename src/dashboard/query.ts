import { HubError } from '../domain/index.js';

/** A time query parameter: epoch ms or ISO 8601 → ms; a clear 400 otherwise. */
export function parseTime(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new HubError(
      'HUB_ERR_BAD_REQUEST',
      `${name} must be epoch milliseconds or ISO 8601, got ${JSON.stringify(value)}`,
    );
  }
  return ms;
}
