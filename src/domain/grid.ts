/**
 * The four-level network (四级网络, seed 000) divided into unit grids
 * (单元网格, GB/T 30428.1). Grid codes follow the 15-digit scheme of Beijing's
 * DB11 practice: 6 administrative + 3 street + 3 community + 3 grid sequence.
 */

export const areaLevels = ['city', 'district', 'street', 'community', 'grid'] as const;
export type AreaLevel = (typeof areaLevels)[number];

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
    district: code.slice(0, 6),
    street: code.slice(0, 9),
    community: code.slice(0, 12),
    grid: code,
  };
}
