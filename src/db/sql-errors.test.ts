import { describe, expect, it } from 'vitest';
import { HubError } from '../domain/index.js';
import { isDataException, violationAs } from './sql-errors.js';

/** The one place SQLSTATEs meet the error catalogue (issue #12). */
describe('SQL errors', () => {
  const exists = new HubError('HUB_ERR_EXISTS', 'crew c1');
  const unknown = new HubError('HUB_ERR_BAD_REQUEST', 'unknown department');

  it('turns the violations a write names into catalogue errors', () => {
    const as = violationAs({ unique: exists, foreignKey: unknown });
    expect(() => as({ code: '23505' })).toThrow(exists);
    expect(() => as({ code: '23503' })).toThrow(unknown);
  });

  it('rethrows what it was not told about as it came', () => {
    const as = violationAs({ unique: exists });
    const fk = { code: '23503' };
    const other = new Error('connection lost');
    expect(() => as(fk)).toThrow(expect.objectContaining(fk));
    expect(() => as(other)).toThrow(other);
    expect(() => as(null)).toThrow();
  });

  it('knows a data exception (class 22) from other failures', () => {
    expect(isDataException({ code: '22P02' })).toBe(true);
    expect(isDataException({ code: '22003' })).toBe(true);
    expect(isDataException({ code: '23505' })).toBe(false);
    expect(isDataException(new Error('x'))).toBe(false);
  });
});
