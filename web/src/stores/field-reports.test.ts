import { describe, expect, it } from 'vitest';
import { builtInCategories, categoryMajors } from '@domain/classification.js';
import type { FieldReport } from '@domain/field-reports.js';
import {
  acceptCountdown,
  categoryGroups,
  facilityTypeOf,
  normaliseCode,
  publicErrorKey,
  rejectBody,
  reportFields,
  upsertReport,
  validateReport,
  verificationFields,
  type ReportDraft,
} from './field-reports.js';

const draft = (over: Partial<ReportDraft> = {}): ReportDraft => ({
  categoryCode: 'B0101',
  note: '',
  photos: [new File(['x'], 'a.jpg', { type: 'image/jpeg' })],
  lat: 27.83,
  lon: 112.94,
  accuracy: 7.6,
  ...over,
});

describe('reports, acceptance and the citizen page (view logic)', () => {
  it('groups the classes of one kind under their major classes, in code order', () => {
    const groups = categoryGroups(categoryMajors, builtInCategories, 'component');
    expect(groups.every((g) => g.major.kind === 'component')).toBe(true);
    expect(groups.map((g) => g.major.code)).toEqual([...groups.map((g) => g.major.code)].sort());
    const first = groups[0]!;
    expect(first.categories.every((c) => c.majorCode === first.major.code)).toBe(true);
    expect(categoryGroups(categoryMajors, builtInCategories, 'event')[0]!.major.code).toMatch(/^S/);
  });

  it('asks for a category, a photo and a place before a report is sent', () => {
    const limits = { maxPhotos: 2, maxNote: 5 };
    expect(validateReport(draft(), limits)).toEqual({});
    expect(
      validateReport(draft({ categoryCode: '', photos: [], lat: null, note: 'too long' }), limits),
    ).toEqual({
      categoryCode: 'category',
      photos: 'photo',
      location: 'location',
      note: 'noteLong',
    });
    const three = draft().photos.concat(draft().photos, draft().photos);
    expect(validateReport(draft({ photos: three }), limits)).toEqual({ photos: 'tooManyPhotos' });
  });

  it('sends the report’s fields as strings, accuracy in whole metres, empty extras left out', () => {
    expect(
      reportFields(draft({ note: '  井盖缺失 ' }), { patrolId: '4', fingerprint: '' }),
    ).toEqual({
      categoryCode: 'B0101',
      lat: '27.83',
      lon: '112.94',
      accuracy: '8',
      note: '井盖缺失',
      patrolId: '4',
    });
  });

  it('counts the acceptance deadline down and says when it has passed', () => {
    const now = Date.parse('2026-12-02T08:00:00Z');
    expect(
      acceptCountdown({ acceptDueAt: '2026-12-02T08:45:00Z', acceptOverdue: false }, now),
    ).toEqual({ text: '0 h 45 min', overdue: false });
    expect(
      acceptCountdown({ acceptDueAt: '2026-12-02T07:50:00Z', acceptOverdue: false }, now).overdue,
    ).toBe(true);
  });

  it('needs a reason to reject, and the case for a duplicate', () => {
    expect(rejectBody({ reason: '', duplicateOfCaseId: '', note: '' })).toEqual({
      error: 'reason',
    });
    expect(rejectBody({ reason: 'duplicate', duplicateOfCaseId: 'x', note: '' })).toEqual({
      error: 'duplicateOf',
    });
    expect(
      rejectBody({ reason: 'duplicate', duplicateOfCaseId: '12', note: ' 同一井盖 ' }),
    ).toEqual({
      body: { reason: 'duplicate', duplicateOfCaseId: 12, note: '同一井盖' },
    });
    expect(rejectBody({ reason: 'outside_remit', duplicateOfCaseId: '12', note: '' })).toEqual({
      body: { reason: 'outside_remit' },
    });
  });

  it('needs a photo to pass a verification and a reason to fail one', () => {
    expect(verificationFields('', '', 1)).toEqual({ error: 'result' });
    expect(verificationFields('passed', '', 0)).toEqual({ error: 'photo' });
    expect(verificationFields('failed', ' ', 1)).toEqual({ error: 'note' });
    expect(verificationFields('failed', '井盖仍松动', 0)).toEqual({
      fields: { result: 'failed', note: '井盖仍松动' },
    });
    expect(verificationFields('passed', '', 2)).toEqual({ fields: { result: 'passed' } });
  });

  it('reads a tracking code as typed and turns the hub’s refusals into messages', () => {
    expect(normaliseCode(' sb7k-3q9x pd2m ')).toBe('SB7K3Q9XPD2M');
    expect(publicErrorKey({ status: 429, code: 'HUB_ERR_PUBLIC_RATE_LIMITED' })).toBe(
      'rateLimited',
    );
    expect(publicErrorKey({ status: 415, code: 'HUB_ERR_PHOTO_TYPE' })).toBe('photoType');
    expect(publicErrorKey({ status: 404, code: 'HUB_ERR_NOT_FOUND' })).toBe('unknownCode');
    expect(publicErrorKey({ status: 409, code: 'HUB_ERR_RATING_NOT_OPEN' })).toBe('ratingNotOpen');
    expect(publicErrorKey({})).toBe('network');
    expect(publicErrorKey({ status: 500, code: 'HUB_ERR_INTERNAL' })).toBe('failed');
  });

  it('keeps my reports newest first, a live change replacing an older copy only', () => {
    const r = (id: number, version: number, createdAt: string) =>
      ({ id, version, createdAt, state: 'reported' }) as unknown as FieldReport;
    const list = [r(2, 1, '2026-12-02T08:10:00Z'), r(1, 3, '2026-12-02T08:00:00Z')];
    expect(upsertReport(list, r(3, 1, '2026-12-02T08:20:00Z')).map((x) => x.id)).toEqual([3, 2, 1]);
    expect(upsertReport(list, r(1, 2, '2026-12-02T08:00:00Z'))[1]!.version).toBe(3);
    expect(upsertReport(list, r(1, 4, '2026-12-02T08:00:00Z'))[1]!.version).toBe(4);
  });

  it('routes an accepted report to the facility its category names', () => {
    expect(facilityTypeOf('B0125')).toBe('streetlight');
    expect(facilityTypeOf('S0406')).toBe('waterlogging');
    expect(facilityTypeOf('S0102')).toBe('');
  });
});
