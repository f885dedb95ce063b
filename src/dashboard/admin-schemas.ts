import { deviceIdPatternSource, facilityTypes } from '../domain/index.js';
import { requireRole } from './auth.js';

/**
 * What the administration routes share (docs/cases.md, "Administration"):
 * reading is open to every logged-in user (screens need it); writing takes
 * the admin role. Every write is in the audit log.
 */
export const admin = requireRole('admin');

/** A text key (department, crew): the device-id alphabet. */
export const key = { type: 'string', pattern: deviceIdPatternSource } as const;
export const name = { type: 'string', minLength: 1, maxLength: 100 } as const;
export const keyParams = { type: 'object', required: ['id'], properties: { id: key } } as const;
export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1 } },
} as const;
export const nullableType = { anyOf: [{ enum: [...facilityTypes] }, { type: 'null' }] } as const;

export const listOf = (prop: string, item: object) => ({
  200: { type: 'object', properties: { [prop]: { type: 'array', items: item } } },
});
