import { deepmerge as createDeepmerge } from '@fastify/deepmerge';
import type { OverrideScope } from '../domain/index.js';

/**
 * Rule overrides (docs/rules.md): settings per district, grid, construction
 * site or device, merged over the rule's own in that order, most specific
 * last. The merge is deep, so an override can change one field of a nested
 * parameter (`{"hours": {"darkSky": …}}` keeps the rest of `hours`); arrays
 * (levels, conditions) are replaced whole, since merging two lists of levels
 * by position would mean nothing.
 */

const orderOfScope: Record<OverrideScope, number> = { district: 0, grid: 1, site: 2, device: 3 };

const merge = createDeepmerge({
  mergeArray: (options) => (_target: unknown[], source: unknown[]) => options.clone(source),
});

/** `base` with `overrides` merged in, in order; neither is changed. */
export function mergeSettings(
  base: Record<string, unknown>,
  ...overrides: readonly Record<string, unknown>[]
): Record<string, unknown> {
  let out = base;
  for (const o of overrides) out = merge(out, o) as Record<string, unknown>;
  return out;
}

/** Sorts overrides from the least specific scope to the most specific. */
export function byScope<O extends { readonly scope: OverrideScope }>(list: readonly O[]): O[] {
  return [...list].sort((a, b) => orderOfScope[a.scope] - orderOfScope[b.scope]);
}

/** What an override is matched against: the device, its grid (district = prefix) and its site. */
export interface OverrideTarget {
  readonly id: string;
  readonly gridCode: string;
  readonly site: string | null;
}

export function overrideApplies(
  o: { readonly scope: OverrideScope; readonly scopeId: string },
  t: OverrideTarget,
): boolean {
  switch (o.scope) {
    case 'device':
      return o.scopeId === t.id;
    case 'site':
      return o.scopeId === t.site;
    case 'grid':
      return o.scopeId === t.gridCode;
    case 'district':
      return t.gridCode.startsWith(o.scopeId);
  }
}
