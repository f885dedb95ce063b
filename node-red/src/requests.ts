import { createHash } from 'crypto';
import type { NodeMessage } from './red';

/** What the node may ask, and the REST route that answers (docs/api.md). */
export const queries: Record<string, string> = {
  devices: '/api/devices',
  latest: '/api/latest',
  telemetry: '/api/telemetry',
  alarms: '/api/alarms',
  cases: '/api/cases',
  kpis: '/api/kpis',
  facilityKpis: '/api/kpis/facilities',
  lighting: '/api/kpis/lighting',
};

/**
 * The key that makes a retried flow act once: given (msg.idempotencyKey), or
 * the case, the action and the case version the message saw, so the same
 * message replayed, or a second message about the same change, maps to one
 * action; without a version, the message id.
 */
export function idempotencyKeyOf(msg: NodeMessage, caseId: number, action: string): string {
  if (typeof msg.idempotencyKey === 'string' && msg.idempotencyKey !== '')
    return msg.idempotencyKey;
  const version = (msg.payload as { version?: unknown } | null)?.version ?? msg.version;
  return version !== undefined && version !== null
    ? `node-red:${caseId}:${action}:v${String(version)}`
    : `node-red:${caseId}:${action}:${msg._msgid ?? ''}`;
}

/**
 * The key of a case registration: given, or the case the message describes
 * (a digest of the body), so the same report sent again within the hub's 24 h
 * is one case; a second, different report is another.
 */
export function registrationKeyOf(msg: NodeMessage, body: unknown): string {
  if (typeof msg.idempotencyKey === 'string' && msg.idempotencyKey !== '')
    return msg.idempotencyKey;
  return `node-red:register:${createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 40)}`;
}
