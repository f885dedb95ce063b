import type { AlarmRecord } from '@domain/events.js';
import { parseGridCode } from '@domain/grid.js';
import { severityRank } from '../catalog.js';

/** What the alarm console filters by; empty = all. */
export interface AlarmFilter {
  readonly district: string;
  readonly type: string;
  readonly severity: string;
}

export const noFilter: AlarmFilter = { district: '', type: '', severity: '' };

/** Worst first: severity, then not yet acknowledged, then the newest opening. */
export function compareAlarms(a: AlarmRecord, b: AlarmRecord): number {
  return (
    severityRank(a.severity) - severityRank(b.severity) ||
    Number(a.acknowledgedAt !== null) - Number(b.acknowledgedAt !== null) ||
    Date.parse(b.openedAt) - Date.parse(a.openedAt) ||
    b.id - a.id
  );
}

export function districtOf(alarm: AlarmRecord): string {
  return parseGridCode(alarm.gridCode)?.district ?? alarm.gridCode.slice(0, 6);
}

export function matches(alarm: AlarmRecord, f: AlarmFilter): boolean {
  return (
    (!f.district || districtOf(alarm) === f.district) &&
    (!f.type || alarm.facilityType === f.type) &&
    (!f.severity || alarm.severity === f.severity)
  );
}

/**
 * Whether an alarm is shelved: the hub keeps the shelving and ends it when
 * the time is up or the alarm worsens (it says so with `unshelved` or a
 * severity change carrying `shelvedUntil: null`); the clock here only hides
 * the few seconds between the expiry and the hub's word.
 */
export function isShelved(alarm: AlarmRecord, now: number): boolean {
  return alarm.shelvedUntil !== null && Date.parse(alarm.shelvedUntil) > now;
}

/**
 * Open alarms by id with the version they are current to: a snapshot then
 * deltas; a delta no newer than what is held is ignored (a reconnect repeats
 * nothing), a cleared alarm leaves.
 */
export class AlarmBook {
  readonly byId = new Map<number, AlarmRecord>();
  version = 0;

  applySnapshot(version: number, alarms: readonly AlarmRecord[]): void {
    this.byId.clear();
    for (const a of alarms) if (a.state === 'open') this.byId.set(a.id, a);
    this.version = version;
  }

  /** Returns whether the change was applied. */
  applyChange(version: number | null, alarm: AlarmRecord): boolean {
    if (version !== null) {
      if (version <= this.version) return false;
      this.version = version;
    }
    if (alarm.state === 'open') this.byId.set(alarm.id, alarm);
    else this.byId.delete(alarm.id);
    return true;
  }

  list(filter: AlarmFilter = noFilter): AlarmRecord[] {
    const out: AlarmRecord[] = [];
    for (const a of this.byId.values()) if (matches(a, filter)) out.push(a);
    return out.sort(compareAlarms);
  }

  /** Worst open severity per device id (area alarms have none). */
  worstByDevice(): Map<string, string> {
    const worst = new Map<string, string>();
    for (const a of this.byId.values()) {
      if (!a.deviceId) continue;
      const held = worst.get(a.deviceId);
      if (held === undefined || severityRank(a.severity) < severityRank(held))
        worst.set(a.deviceId, a.severity);
    }
    return worst;
  }
}
