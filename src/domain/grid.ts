/**
 * The four-level network (四级网络, seed 000) divided into unit grids
 * (单元网格, GB/T 30428.1). Grid codes follow the 15-digit scheme of Beijing's
 * DB11 practice: 6 administrative + 3 street + 3 community + 3 grid sequence.
 */

export const areaLevels = ['city', 'district', 'street', 'community', 'grid'] as const;
export type AreaLevel = (typeof areaLevels)[number];

/** JSON-schema patterns: a 15-digit grid code, and an area code of any level below the city. */
export const gridCodePattern = '^\\d{15}$';
export const areaCodePattern = '^(\\d{6}|\\d{9}|\\d{12}|\\d{15})$';

export interface Area {
  readonly code: string;
  readonly level: AreaLevel;
  readonly name: string;
  readonly parentCode: string | null;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

export function streetCode(districtCode: string, street: number): string {
  return districtCode + pad(street, 3);
}
export function communityCode(streetCode_: string, community: number): string {
  return streetCode_ + pad(community, 3);
}
export function gridCode(communityCode_: string, grid: number): string {
  return communityCode_ + pad(grid, 3);
}

export interface GridAncestors {
  readonly district: string;
  readonly street: string;
  readonly community: string;
  readonly grid: string;
}

/** Ancestors of a 15-digit grid code, or null when the code is malformed. */
export function parseGridCode(code: string): GridAncestors | null {
  if (!/^\d{15}$/.test(code)) return null;
  return {
    district: code.slice(0, areaCodeLength.district),
    street: code.slice(0, areaCodeLength.street),
    community: code.slice(0, areaCodeLength.community),
    grid: code,
  };
}

/** Digits of an area code at each level below the city (6 + 3 + 3 + 3). */
export const areaCodeLength = { district: 6, street: 9, community: 12, grid: 15 } as const;

/**
 * The code of the area at `level` containing an area code of any level
 * (`430302001004` → district `430302`), or null when the code is shorter
 * than that level: the one place codes are cut (issue #12). Codes are
 * checked where they come in; this runs per fleet member on ticks, so no regex.
 */
export function areaAt(code: string, level: keyof typeof areaCodeLength): string | null {
  const n = areaCodeLength[level];
  return code.length >= n ? code.slice(0, n) : null;
}

/**
 * The level of an area code by its digits ('' is the whole city), or null
 * when its length is no level's.
 */
export function areaLevelOf(code: string): AreaLevel | null {
  if (code === '') return 'city';
  const levels = Object.keys(areaCodeLength) as (keyof typeof areaCodeLength)[];
  return levels.find((level) => areaCodeLength[level] === code.length) ?? null;
}
