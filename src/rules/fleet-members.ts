import { facilityCatalog, type FacilityType } from '../domain/index.js';
import type { FleetMember } from './kinds/index.js';

type Member = { -readonly [K in keyof FleetMember]: FleetMember[K] };

/** What the tick needs of an evaluator entry (evaluator.ts). */
export interface MemberSource {
  readonly id: string;
  readonly type: FacilityType;
  readonly gridCode: string;
  readonly road: string | null;
  readonly site: string | null;
  readonly lastSeenMs: number;
  readonly last: Record<string, unknown> | null;
  readonly compiled: readonly {
    readonly rule: { readonly id: string };
    readonly kind: { dueAt?(prepared: never, ms: number): boolean | null };
    readonly prepared: unknown;
  }[];
  readonly states: readonly { readonly open: boolean }[];
  /** What the tick rules see of it, updated in place each tick. */
  member?: Member;
}

const noneOpen: readonly string[] = Object.freeze([]);

/**
 * The fleet as the tick rules see it at `now`, in `into` (cleared first). The
 * tick runs over every device on the hub's one thread (issue #17: 100,000
 * devices): members live on their entries and are updated in place, and a
 * schedule is asked once per compiled rule, not once per device.
 */
export function fleetMembers(
  entries: Iterable<MemberSource>,
  now: number,
  into: FleetMember[],
): FleetMember[] {
  into.length = 0;
  const dueOf = new Map<unknown, boolean | null>();
  for (const e of entries) {
    let open: string[] | null = null;
    let dueOn: boolean | null = null;
    for (let i = 0; i < e.states.length; i++) {
      const c = e.compiled[i]!;
      if (e.states[i]!.open) (open ??= []).push(c.rule.id);
      if (dueOn === null && c.kind.dueAt) {
        let due = dueOf.get(c.prepared);
        if (due === undefined) {
          due = c.kind.dueAt(c.prepared as never, now);
          dueOf.set(c.prepared, due);
        }
        dueOn = due;
      }
    }
    const m = (e.member ??= {
      id: e.id,
      type: e.type,
      gridCode: '',
      road: null,
      intervalS: 0,
      lastSeenMs: 0,
      last: null,
      open: noneOpen,
      dueOn: null,
    });
    m.open = open ?? noneOpen;
    m.dueOn = dueOn;
    m.type = e.type;
    m.gridCode = e.gridCode;
    m.road = e.road;
    m.site = e.site;
    m.intervalS = facilityCatalog[e.type].reportingIntervalS;
    m.lastSeenMs = e.lastSeenMs;
    m.last = e.last;
    into.push(m);
  }
  return into;
}
