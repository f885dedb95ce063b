import type { CaseRecord } from '@domain/events.js';
import { severityRank } from '../catalog.js';

/**
 * Cases by id, each replaced only by a newer version (docs/api.md, socket.io):
 * the live feed and a REST read may race, the newest wins. Views key their
 * rows by id so an update patches one row and leaves the rest, and what a
 * crew is typing in it, alone.
 */
export class CaseBook<C extends CaseRecord = CaseRecord> {
  readonly byId = new Map<number, C>();
  version = 0;

  applySnapshot(version: number, cases: readonly C[]): void {
    this.byId.clear();
    for (const c of cases) this.byId.set(c.id, c);
    this.version = Math.max(this.version, version);
  }

  /** Applies a case if it is newer than the one held; returns whether it did. */
  apply(c: C): boolean {
    const held = this.byId.get(c.id);
    if (held && held.version >= c.version) return false;
    this.byId.set(c.id, held ? ({ ...held, ...c } as C) : c);
    if (c.version > this.version) this.version = c.version;
    return true;
  }

  list(): C[] {
    return [...this.byId.values()].sort(
      (a, b) =>
        severityRank(a.severity) - severityRank(b.severity) ||
        Date.parse(b.createdAt) - Date.parse(a.createdAt),
    );
  }
}

const closedStates = new Set(['closed', 'cancelled']);
export const isOpenCase = (c: CaseRecord): boolean => !closedStates.has(c.state);

/** "2 h 05 min" / "-0 h 12 min" for a deadline countdown. */
export function formatRemaining(dueAt: string | null, now: number): string | null {
  if (!dueAt) return null;
  const ms = Date.parse(dueAt) - now;
  const sign = ms < 0 ? '-' : '';
  const total = Math.floor(Math.abs(ms) / 60_000);
  const d = Math.floor(total / 1440);
  const h = Math.floor((total % 1440) / 60);
  const m = total % 60;
  return `${sign}${d ? `${d} d ` : ''}${h} h ${String(m).padStart(2, '0')} min`;
}
