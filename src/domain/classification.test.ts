import { describe, expect, it } from 'vitest';
import {
  alarmCategoryOf,
  builtInCategories,
  caseKindOf,
  categoryCodePattern,
  categoryMajors,
  facilityCategories,
  facilityEventCategories,
  facilityTypes,
  manualCategoryOf,
  mergeCategories,
  publicReportStatus,
  trackSegments,
  userAreaProblem,
} from './index.js';

describe('the 部件/事件 classification (issue #16)', () => {
  const codes = new Set(builtInCategories.map((c) => c.code));

  it('has unique, well-formed codes under known major classes', () => {
    expect(codes.size).toBe(builtInCategories.length);
    const majors = new Set(categoryMajors.map((m) => m.code));
    for (const c of builtInCategories) {
      expect(c.code).toMatch(new RegExp(categoryCodePattern));
      expect(majors.has(c.majorCode), c.code).toBe(true);
      expect(c.kind).toBe(c.code.startsWith('B') ? 'component' : 'event');
      expect(c.label.zh && c.label.en).toBeTruthy();
    }
  });

  it('maps every facility type to a 部件 class, and condition types to a 事件 class', () => {
    for (const type of facilityTypes) {
      expect(codes.has(facilityCategories[type]), type).toBe(true);
      expect(facilityCategories[type]).toMatch(/^B/);
      const alarm = alarmCategoryOf(type, caseKindOf(type));
      expect(codes.has(alarm), type).toBe(true);
      if (caseKindOf(type) === 'event') expect(alarm).toBe(facilityEventCategories[type]);
    }
    expect(alarmCategoryOf('all', 'event')).toBe('S0601');
    expect(manualCategoryOf(null, null, 'component')).toBe('B0699');
    expect(manualCategoryOf('S0102', 'streetlight', 'component')).toBe('S0102');
  });

  it('applies an admin override over the built-in label', () => {
    const merged = mergeCategories([
      { code: 'B0125', label: { zh: '道路照明灯', en: 'Road light' }, public: false },
      { code: 'S0690', label: { zh: '共享单车乱停', en: 'Shared bikes' }, public: true },
    ]);
    expect(merged.find((c) => c.code === 'B0125')).toMatchObject({
      label: { zh: '道路照明灯' },
      public: false,
      majorCode: 'B01',
    });
    expect(merged.find((c) => c.code === 'S0690')).toMatchObject({ kind: 'event', public: true });
  });
});

describe('field reports (issue #16)', () => {
  it('shows a citizen a status from the report and its case', () => {
    expect(publicReportStatus('reported', null)).toBe('received');
    expect(publicReportStatus('accepted', 'dispatched')).toBe('in_progress');
    expect(publicReportStatus('merged', 'closed')).toBe('closed');
    expect(publicReportStatus('merged', null)).toBe('received');
    expect(publicReportStatus('accepted', 'cancelled')).toBe('rejected');
    expect(publicReportStatus('rejected', null)).toBe('rejected');
  });

  it('cuts a patrol track at its gaps and measures within segments only', () => {
    const at = (s: number) => new Date(Date.UTC(2026, 11, 1, 1, 0, s)).toISOString();
    const p = (s: number, lat: number) => ({ at: at(s), lat, lon: 112.9, accuracyM: null });
    // Out of order, as batches from an offline phone arrive.
    const t = trackSegments([p(600, 27.86), p(0, 27.85), p(30, 27.851), p(630, 27.861)], 120);
    expect(t.segments.map((s) => s.length)).toEqual([2, 2]);
    expect(t.gapCount).toBe(1);
    // 0.001° of latitude twice (≈ 111 m each), not the 1 km across the gap.
    expect(t.distanceM).toBeGreaterThan(200);
    expect(t.distanceM).toBeLessThan(250);
    expect(trackSegments([], 120)).toEqual({ segments: [], distanceM: 0, gapCount: 0 });
  });

  it('assigns only inspectors below a district', () => {
    expect(userAreaProblem('inspector', '430302001002003')).toBeNull();
    expect(userAreaProblem('operator', '430302')).toBeNull();
    expect(userAreaProblem('operator', null)).toBeNull();
    expect(userAreaProblem('operator', '430302001')).not.toBeNull();
  });
});
