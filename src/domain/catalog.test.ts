import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  caseActionLabels,
  caseActions,
  caseCode,
  caseCodePrefix,
  caseKindOf,
  caseStateLabels,
  caseStates,
  facilityCatalog,
  facilityTypes,
  kpiNames,
  kpiTargets,
  metricLabelsZh,
  roleLabels,
  roles,
  severities,
  severityLabels,
} from './index.js';
import { areaAt } from './grid.js';

const srcDir = fileURLToPath(new URL('..', import.meta.url));

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|js|vue|html)$/.test(name) && !/\.test\.ts$/.test(name)) out.push(p);
  }
  return out;
}

/** The home of each list: the only file where its literal may appear. */
const homes = {
  roles: 'domain/catalog.ts',
  severities: 'domain/catalog.ts',
  caseStates: 'domain/catalog.ts',
  caseActions: 'domain/catalog.ts',
  facilityTypes: 'domain/facilities.ts',
  deviceIdPattern: 'domain/topics.ts',
  gridCodePattern: 'domain/grid.ts',
  caseCodeSql: '',
  kpiTargets: 'domain/catalog.ts',
  gridCodeSlicing: 'domain/grid.ts',
} as const;

/**
 * A literal copy of a list: all its items in order, quoted either way, with
 * any spacing, so `['admin', 'operator', …]` and `"admin","operator",…` both
 * match. A subset (the roles a route admits) is a decision, not a copy.
 */
function listCopy(items: readonly string[]): RegExp {
  const q = `['"\`]`;
  return new RegExp(items.map((i) => `${q}${i}${q}`).join('\\s*,\\s*'));
}

const patterns: Record<keyof typeof homes, RegExp> = {
  roles: listCopy(roles),
  severities: listCopy(severities),
  caseStates: listCopy(caseStates),
  caseActions: listCopy(caseActions),
  facilityTypes: listCopy(facilityTypes),
  deviceIdPattern: /\[A-Za-z0-9\]\[A-Za-z0-9_\.-\]/,
  gridCodePattern: /\^\\+d\{15\}\$/,
  // The case code is formatted by caseCodePrefix only (one clock, issue #12).
  caseCodeSql: /'AJ-'\s*\|\|/,
  kpiTargets: /lightingRate:\s*0\.98/,
  // Area codes are cut by areaAt / parseGridCode / areaCodeLength, not by hand.
  gridCodeSlicing: /(grid_?[cC]ode\??\.(slice|substring)\(0,\s*\d)|left\(\w+\.grid_code,\s*\d/,
};

describe('one source for every list (issue #12)', () => {
  const files = sourceFiles(srcDir);

  it('finds the source tree it scans', () => {
    expect(files.length).toBeGreaterThan(50);
  });

  for (const [list, home] of Object.entries(homes) as [keyof typeof homes, string][]) {
    it(`keeps the ${list} literal in ${home || 'no file'} only`, () => {
      const copies = files
        .filter((f) => path.relative(srcDir, f).split(path.sep).join('/') !== home)
        .filter((f) => patterns[list].test(readFileSync(f, 'utf8')))
        .map((f) => path.relative(srcDir, f));
      expect(copies).toEqual([]);
    });
  }

  it('detects a copy written either way', () => {
    const r = `const r = ["admin", "operator", "supervisor", "crew",\n  "viewer", "inspector"];`;
    expect(patterns.roles.test(r)).toBe(true);
    expect(patterns.severities.test(`{ enum: ['critical','major','minor','warning'] }`)).toBe(true);
    expect(patterns.roles.test(`['admin', 'operator', 'supervisor']`)).toBe(false);
    expect(patterns.gridCodeSlicing.test('const d = c.gridCode.slice(0, 6);')).toBe(true);
    expect(patterns.gridCodeSlicing.test("district: 'left(d.grid_code, 6)'")).toBe(true);
  });
});

describe('the catalog', () => {
  it('labels every role, severity, case state and case action in Chinese and English', () => {
    for (const labels of [
      roles.map((r) => roleLabels[r]),
      severities.map((s) => severityLabels[s]),
      caseStates.map((s) => caseStateLabels[s]),
      caseActions.map((a) => caseActionLabels[a]),
    ]) {
      for (const l of labels) {
        expect(l.zh).toMatch(/[\u4e00-\u9fff]/);
        expect(l.en).toMatch(/^[A-Z]/);
      }
    }
  });

  it('names every metric of every facility type in Chinese', () => {
    for (const t of facilityTypes) {
      const spec = facilityCatalog[t];
      const names = [...spec.metrics, ...(spec.patternMetrics ?? []).map((p) => p.spec)];
      for (const m of names) expect(metricLabelsZh[m.name], `${t}.${m.name}`).toBeTruthy();
    }
  });

  it('has a target with a source for every KPI', () => {
    for (const k of kpiNames) {
      expect(kpiTargets[k].value).toBeGreaterThan(0);
      expect(kpiTargets[k].source).not.toBe('');
    }
  });

  it('builds the case code from the given clock in the city time zone', () => {
    // 2026-11-23 17:30 UTC is already the 24th in Xiangtan (UTC+8).
    const at = new Date('2026-11-23T17:30:00Z');
    expect(caseCode(42, at, 'Asia/Shanghai')).toBe('AJ-20261124-000042');
    expect(caseCodePrefix(at, 'UTC')).toBe('AJ-20261123-');
  });

  it('makes ponding, dust and gas event cases and broken facilities component cases', () => {
    expect(caseKindOf('waterlogging')).toBe('event');
    expect(caseKindOf('streetlight')).toBe('component');
    expect(caseKindOf('all')).toBe('component');
    expect(caseKindOf(null)).toBe('component');
  });

  it('cuts an area code to a level above it, and refuses a level below', () => {
    expect(areaAt('430302001004002', 'district')).toBe('430302');
    expect(areaAt('430302001004002', 'community')).toBe('430302001004');
    expect(areaAt('430302', 'street')).toBeNull();
  });
});
