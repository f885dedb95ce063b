import {
  facilityCategories,
  facilityEventCategories,
  type Category,
  type CategoryMajor,
  type CaseKind,
} from '@domain/classification.js';
import { facilityTypes, type FacilityType } from '@domain/facilities.js';
import type { FieldReport, RejectReason } from '@domain/field-reports.js';
import { formatRemaining } from './cases.js';

/**
 * View logic of reports (上报), acceptance (受理), on-site verification (核查)
 * and the citizen page (issue #16), without Vue: what the pages compute from
 * the wire types of src/domain/field-reports.ts.
 */

export interface CategoryGroup {
  readonly major: CategoryMajor;
  readonly categories: readonly Category[];
}

/** The classes of one kind (部件 or 事件) under their major classes, in code order; empty majors left out. */
export function categoryGroups(
  majors: readonly CategoryMajor[],
  categories: readonly Category[],
  kind: CaseKind,
): CategoryGroup[] {
  return majors
    .filter((m) => m.kind === kind)
    .map((major) => ({
      major,
      categories: categories
        .filter((c) => c.majorCode === major.code)
        .sort((a, b) => a.code.localeCompare(b.code)),
    }))
    .filter((g) => g.categories.length > 0)
    .sort((a, b) => a.major.code.localeCompare(b.major.code));
}

export interface ReportDraft {
  categoryCode: string;
  note: string;
  photos: File[];
  lat: number | null;
  lon: number | null;
  accuracy: number | null;
}

export const emptyReportDraft = (): ReportDraft => ({
  categoryCode: '',
  note: '',
  photos: [],
  lat: null,
  lon: null,
  accuracy: null,
});

export type ReportField = 'categoryCode' | 'photos' | 'location' | 'note';

/** What is missing before a report may be sent; keys of `report.errors.*` in i18n. */
export function validateReport(
  d: ReportDraft,
  limits: { maxPhotos: number; maxNote: number },
): Partial<Record<ReportField, string>> {
  const e: Partial<Record<ReportField, string>> = {};
  if (!/^[BS]\d{4}$/.test(d.categoryCode)) e.categoryCode = 'category';
  if (!d.photos.length) e.photos = 'photo';
  else if (d.photos.length > limits.maxPhotos) e.photos = 'tooManyPhotos';
  if (d.lat === null || d.lon === null) e.location = 'location';
  if (d.note.length > limits.maxNote) e.note = 'noteLong';
  return e;
}

/** The multipart fields of a report (POST /api/field-reports, /api/public/reports). */
export function reportFields(
  d: ReportDraft,
  extra: Record<string, string | undefined> = {},
): Record<string, string> {
  const f: Record<string, string> = {
    categoryCode: d.categoryCode,
    lat: String(d.lat),
    lon: String(d.lon),
  };
  if (d.accuracy !== null) f.accuracy = String(Math.round(d.accuracy));
  if (d.note.trim()) f.note = d.note.trim();
  for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== '') f[k] = v;
  return f;
}

/** The acceptance deadline of a queued report: countdown text and whether it has passed. */
export function acceptCountdown(
  r: Pick<FieldReport, 'acceptDueAt' | 'acceptOverdue'>,
  now: number,
): { text: string; overdue: boolean } {
  return {
    text: formatRemaining(r.acceptDueAt, now) ?? '',
    overdue: r.acceptOverdue || Date.parse(r.acceptDueAt) <= now,
  };
}

export interface RejectFields {
  reason: RejectReason | '';
  duplicateOfCaseId: string;
  note: string;
}

/** The body of POST /api/field-reports/:id/reject, or what is missing. */
export function rejectBody(
  f: RejectFields,
): { body: Record<string, unknown> } | { error: 'reason' | 'duplicateOf' } {
  if (!f.reason) return { error: 'reason' };
  const body: Record<string, unknown> = { reason: f.reason };
  if (f.reason === 'duplicate') {
    const id = Number(f.duplicateOfCaseId);
    if (!Number.isInteger(id) || id <= 0) return { error: 'duplicateOf' };
    body.duplicateOfCaseId = id;
  }
  if (f.note.trim()) body.note = f.note.trim();
  return { body };
}

/** A verification's fields, or what is missing (a failed one needs its reason, a passed one a photo). */
export function verificationFields(
  result: 'passed' | 'failed' | '',
  note: string,
  photos: number,
): { fields: Record<string, string> } | { error: 'result' | 'note' | 'photo' } {
  if (!result) return { error: 'result' };
  if (result === 'failed' && !note.trim()) return { error: 'note' };
  if (result === 'passed' && photos === 0) return { error: 'photo' };
  return { fields: { result, ...(note.trim() ? { note: note.trim() } : {}) } };
}

/** A tracking code as typed: spaces and dashes out, upper case (codes are A–Z and digits). */
export function normaliseCode(typed: string): string {
  return typed.replace(/[\s-]+/g, '').toUpperCase();
}

/**
 * The message key of a refused public request: the hub's stable codes
 * (docs/api.md) become sentences a citizen understands.
 */
export function publicErrorKey(err: { status?: number; code?: string }): string {
  switch (err.code) {
    case 'HUB_ERR_PUBLIC_RATE_LIMITED':
      return 'rateLimited';
    case 'HUB_ERR_PHOTO_TYPE':
    case 'HUB_ERR_MEDIA_TYPE':
      return 'photoType';
    case 'HUB_ERR_BODY_TOO_LARGE':
      return 'photoLarge';
    case 'HUB_ERR_PHOTO_REQUIRED':
      return 'photo';
    case 'HUB_ERR_CATEGORY_UNKNOWN':
      return 'category';
    case 'HUB_ERR_REPORT_UNKNOWN':
      return 'unknownCode';
    case 'HUB_ERR_RATING_NOT_OPEN':
      return 'ratingNotOpen';
    case 'HUB_ERR_RATING_EXISTS':
      return 'ratingExists';
  }
  if (err.status === 404) return 'unknownCode';
  if (err.status === 429) return 'rateLimited';
  if (err.status === undefined || err.status === 0) return 'network';
  return 'failed';
}

/** Newest first, a report replaced by its newer version (live `fieldReport:changed`). */
export function upsertReport(list: readonly FieldReport[], r: FieldReport): FieldReport[] {
  const held = list.find((x) => x.id === r.id);
  if (held && held.version > r.version) return [...list];
  const rest = list.filter((x) => x.id !== r.id);
  return [r, ...rest].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
}

/**
 * The facility type a report's category names (路灯 → streetlight), so an
 * accepted case is routed to the crew of that type; '' when it names none.
 */
export function facilityTypeOf(categoryCode: string): FacilityType | '' {
  return (
    facilityTypes.find(
      (t) => facilityCategories[t] === categoryCode || facilityEventCategories[t] === categoryCode,
    ) ?? ''
  );
}
