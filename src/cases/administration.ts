import {
  deleteCaseDeadline,
  getArea,
  getCaseDeadline,
  getCrewRecord,
  getDepartment,
  matchingRoutes,
  ruleExists,
  upsertRuleCasePolicy,
  type Queryable,
  type RuleCasePolicy,
} from '../db/index.js';
import { HubError, areaLevelOf, type DispatchRoute } from '../domain/index.js';

/**
 * The checks of a city's administration (docs/cases.md, "Administration")
 * that the tables' constraints cannot say; the REST routes only carry them.
 */

/** An area's level by its code, as the routing table explains it. */
const levelOf = (prefix: string): string => areaLevelOf(prefix) ?? 'area';

/** A dispatch route as the admin gave it, checked: a known area, the crew within the department. */
export async function checkedRoute(
  db: Queryable,
  r: {
    facilityType?: string | null;
    areaPrefix: string;
    departmentId?: string | undefined;
    crewId?: string | null;
    categoryCode?: string | null;
  },
): Promise<Omit<DispatchRoute, 'id'>> {
  if (r.areaPrefix !== '' && !(await getArea(db, r.areaPrefix))) {
    throw new HubError('HUB_ERR_BAD_REQUEST', `unknown area ${r.areaPrefix}`);
  }
  let departmentId = r.departmentId;
  if (r.crewId) {
    const crew = await getCrewRecord(db, r.crewId);
    if (!crew) throw new HubError('HUB_ERR_BAD_REQUEST', `no crew ${r.crewId}`);
    if (departmentId && departmentId !== crew.departmentId) {
      throw new HubError(
        'HUB_ERR_BAD_REQUEST',
        `crew ${crew.id} belongs to department ${crew.departmentId}, not ${departmentId}`,
      );
    }
    departmentId = crew.departmentId;
  }
  if (!departmentId) throw new HubError('HUB_ERR_BAD_REQUEST', 'needs departmentId or crewId');
  return {
    facilityType: r.facilityType ?? null,
    areaPrefix: r.areaPrefix,
    departmentId,
    crewId: r.crewId ?? null,
    categoryCode: r.categoryCode ?? null,
  };
}

/** Which route a case of this type in this grid would take, and why (the dispatcher's ranking). */
export async function explainRoute(db: Queryable, type: string | null, grid: string | null) {
  const candidates = await matchingRoutes(db, type, grid);
  const best = candidates[0] ?? null;
  const [department, crew, area] = best
    ? await Promise.all([
        getDepartment(db, best.departmentId),
        best.crewId ? getCrewRecord(db, best.crewId) : null,
        best.areaPrefix ? getArea(db, best.areaPrefix) : null,
      ])
    : [null, null, null];
  const what = `${type ?? 'a case with no facility type'} in ${grid ?? 'no area'}`;
  let reason: string;
  if (!best) {
    reason =
      `no route matches ${what}: the case stays registered until an operator dispatches it ` +
      `to a named crew (dispatch without crewId answers HUB_ERR_NO_ROUTE)`;
  } else {
    const where = best.areaPrefix
      ? `${levelOf(best.areaPrefix)} ${best.areaPrefix}${area ? ` (${area.name})` : ''}`
      : 'the whole city';
    const others = candidates.length - 1;
    reason =
      `route ${best.id} (${best.facilityType ?? 'any type'} in ${where}) wins for ${what}` +
      (others > 0
        ? `: the longest matching area prefix of ${candidates.length} matching routes` +
          ', an exact facility type before "any type" at the same prefix'
        : ': the only matching route') +
      (best.crewId ? '' : '; it names a department only, so no crew receives the case');
  }
  return {
    facilityType: type,
    gridCode: grid,
    route: best,
    department: department ? { id: department.id, name: department.name } : null,
    crew: crew ? { id: crew.id, name: crew.name } : null,
    reason,
    candidates: candidates.map((c, i) => ({
      ...c,
      areaLevel: levelOf(c.areaPrefix),
      rank: i + 1,
    })),
  };
}

/** Deletes a case deadline; the any-type row of a severity is every facility type's fallback. */
export async function removeCaseDeadline(db: Queryable, id: number): Promise<void> {
  const d = await getCaseDeadline(db, id);
  if (!d) throw new HubError('HUB_ERR_NOT_FOUND', `no case deadline ${id}`);
  // Without it cases of that severity get no deadline.
  if (d.facilityType === null) {
    throw new HubError(
      'HUB_ERR_IN_USE',
      `the any-type deadline of ${d.severity} is the fallback for every facility type; edit it instead`,
    );
  }
  await deleteCaseDeadline(db, d.id);
}

/** A rule's case policy: open a case or alarm only; auto-verify only where a case opens. */
export async function setRuleCasePolicy(
  db: Queryable,
  p: { ruleId: string; openCase: boolean; autoVerifyAfterMinutes: number | null },
): Promise<RuleCasePolicy> {
  if (!(await ruleExists(db, p.ruleId))) throw new HubError('HUB_ERR_RULE_UNKNOWN', p.ruleId);
  const after = p.autoVerifyAfterMinutes;
  if (!p.openCase && after !== null) {
    throw new HubError('HUB_ERR_BAD_REQUEST', 'auto-verify needs openCase: true');
  }
  return upsertRuleCasePolicy(db, {
    ruleId: p.ruleId,
    openCase: p.openCase,
    autoVerifyAfterS: after === null ? null : after * 60,
  });
}
