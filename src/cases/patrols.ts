import {
  endPatrol,
  getPatrolRow,
  gridExists,
  insertTrackPoints,
  listPatrolRows,
  startPatrol,
  trackOf,
  type Queryable,
} from '../db/index.js';
import {
  HubError,
  caseScopeOf,
  trackSegments,
  type Actor,
  type Patrol,
  type TrackPoint,
} from '../domain/index.js';

/**
 * Patrols of grid inspectors (巡查, issue #16): start, GPS fixes posted in
 * batches (a phone sends what it gathered while offline), end. The track is
 * kept with its gaps: fixes carry their own time, and an interval longer
 * than `gapSeconds` (PATROL_GAP_SECONDS) cuts the track there.
 */
export function createPatrolService(deps: {
  readonly pool: Queryable;
  readonly now: () => Date;
  readonly gapSeconds: number;
}) {
  const { pool, gapSeconds } = deps;

  async function withTrack(id: number): Promise<{ patrol: Patrol; segments: TrackPoint[][] }> {
    const row = await getPatrolRow(pool, id);
    if (!row) throw new HubError('HUB_ERR_PATROL_UNKNOWN', String(id));
    const t = trackSegments(await trackOf(pool, id), gapSeconds);
    return {
      patrol: { ...row, distanceM: t.distanceM, gapCount: t.gapCount },
      segments: t.segments,
    };
  }

  /** The patrol as `actor` may see it: an inspector its own, the control room its area's. */
  async function visible(actor: Actor, id: number) {
    const found = await withTrack(id);
    if (actor.role === 'inspector' && found.patrol.inspectorId !== actor.id) {
      throw new HubError('HUB_ERR_FORBIDDEN', 'not your patrol');
    }
    const area = caseScopeOf(actor).area;
    if (actor.role !== 'inspector' && area && !(found.patrol.gridCode ?? '').startsWith(area)) {
      throw new HubError('HUB_ERR_OUT_OF_AREA', `patrol ${id}`);
    }
    return found;
  }

  return {
    async start(actor: Actor): Promise<Patrol> {
      const grid =
        actor.areaCode && (await gridExists(pool, actor.areaCode)) ? actor.areaCode : null;
      const id = await startPatrol(pool, {
        inspectorId: actor.id!,
        gridCode: grid ?? actor.areaCode,
        at: deps.now().toISOString(),
      });
      if (id === null) throw new HubError('HUB_ERR_PATROL_OPEN');
      return (await withTrack(id)).patrol;
    },
    async addPoints(
      actor: Actor,
      id: number,
      points: readonly TrackPoint[],
    ): Promise<{ patrol: Patrol; stored: number }> {
      const { patrol } = await visible(actor, id);
      if (patrol.inspectorId !== actor.id) throw new HubError('HUB_ERR_FORBIDDEN', 'not yours');
      if (patrol.endedAt) throw new HubError('HUB_ERR_PATROL_ENDED');
      const stored = await insertTrackPoints(pool, id, points);
      return { patrol: (await withTrack(id)).patrol, stored };
    },
    async end(actor: Actor, id: number): Promise<Patrol> {
      const { patrol } = await visible(actor, id);
      if (patrol.inspectorId !== actor.id) throw new HubError('HUB_ERR_FORBIDDEN', 'not yours');
      if (!(await endPatrol(pool, id, deps.now().toISOString()))) {
        throw new HubError('HUB_ERR_PATROL_ENDED');
      }
      return (await withTrack(id)).patrol;
    },
    get: visible,
    async list(
      actor: Actor,
      q: { mine?: boolean; inspectorId?: number; limit: number },
    ): Promise<Patrol[]> {
      const own = actor.role === 'inspector' || q.mine === true;
      const rows = await listPatrolRows(pool, {
        inspectorId: own ? actor.id : (q.inspectorId ?? null),
        area: own ? null : caseScopeOf(actor).area,
        limit: q.limit,
      });
      const out: Patrol[] = [];
      for (const r of rows) {
        const t = trackSegments(await trackOf(pool, r.id), gapSeconds);
        out.push({ ...r, distanceM: t.distanceM, gapCount: t.gapCount });
      }
      return out;
    },
  };
}

export type PatrolService = ReturnType<typeof createPatrolService>;
