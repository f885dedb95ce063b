import { metresBetween } from '@domain/field-reports.js';

/**
 * A patrol's GPS track on the phone (issue #16): fixes from
 * `navigator.geolocation.watchPosition` are thinned, buffered and sent to the
 * hub in batches (`POST /api/patrols/:id/points`, at most 500 a batch); a batch
 * the network did not take goes back to the front of the buffer. The hub cuts
 * the track at its own gaps (PATROL_GAP_SECONDS); the phone shows the officer
 * when it has no fix, so a gap is noticed where it happens. No Vue, no DOM:
 * the view drives it with a clock.
 */
export interface Fix {
  /** ISO time of the fix. */
  readonly at: string;
  readonly lat: number;
  readonly lon: number;
  readonly accuracy?: number;
}

export interface TrackOptions {
  /** A fix closer than this to the last kept one, and sooner than `keepEveryMs`, is dropped. */
  readonly minMoveM: number;
  readonly keepEveryMs: number;
  /** No fix for this long (or an error from the GPS) shows the gap indicator. */
  readonly lostAfterMs: number;
  /** Most points in one request (the hub takes 1–500). */
  readonly batchMax: number;
}

export const defaultTrackOptions: TrackOptions = {
  minMoveM: 5,
  keepEveryMs: 30_000,
  lostAfterMs: 30_000,
  batchMax: 500,
};

export type GpsState = 'waiting' | 'ok' | 'lost';

export class PatrolTrack {
  private buffer: Fix[] = [];
  private last: Fix | null = null;
  private lastFixMs: number | null = null;
  private error = false;
  private lostSince: number | null = null;
  /** Fixes kept, gaps seen by the phone, and metres walked (gaps not counted). */
  readonly stats = { kept: 0, gaps: 0, distanceM: 0 };

  constructor(
    private readonly startedMs: number,
    private readonly options: TrackOptions = defaultTrackOptions,
  ) {}

  /** A fix from the GPS; returns whether it was kept for the hub. */
  add(fix: Fix, nowMs: number): boolean {
    const wasLost = this.state(nowMs) === 'lost';
    this.error = false;
    this.lastFixMs = nowMs;
    if (wasLost) {
      this.stats.gaps++;
      this.lostSince = null;
    }
    const prev = this.last;
    if (prev) {
      const moved = metresBetween(prev, fix);
      const elapsed = Date.parse(fix.at) - Date.parse(prev.at);
      if (elapsed <= 0) return false;
      if (moved < this.options.minMoveM && elapsed < this.options.keepEveryMs && !wasLost)
        return false;
      // A jump across a gap is not walked distance.
      if (!wasLost) this.stats.distanceM += moved;
    }
    this.last = fix;
    this.buffer.push(fix);
    this.stats.kept++;
    return true;
  }

  /** The GPS said it cannot give a position (PositionError). */
  fail(nowMs: number): void {
    if (!this.error && this.state(nowMs) !== 'lost') this.lostSince = nowMs;
    this.error = true;
  }

  state(nowMs: number): GpsState {
    if (this.error) return 'lost';
    const since = this.lastFixMs ?? this.startedMs;
    if (nowMs - since >= this.options.lostAfterMs) return 'lost';
    return this.lastFixMs === null ? 'waiting' : 'ok';
  }

  /** Seconds without a fix while lost, for the indicator; 0 otherwise. */
  lostForS(nowMs: number): number {
    if (this.state(nowMs) !== 'lost') return 0;
    const since = this.error ? (this.lostSince ?? nowMs) : (this.lastFixMs ?? this.startedMs);
    return Math.max(0, Math.round((nowMs - since) / 1000));
  }

  pending(): number {
    return this.buffer.length;
  }

  /** The next batch to send; give it back with `returnBatch` when the send failed. */
  takeBatch(): Fix[] {
    return this.buffer.splice(0, this.options.batchMax);
  }

  returnBatch(batch: readonly Fix[]): void {
    this.buffer.unshift(...batch);
  }
}

/** A GeolocationPosition as a fix (the accuracy in whole metres). */
export function fixOf(p: {
  timestamp: number;
  coords: { latitude: number; longitude: number; accuracy: number };
}): Fix {
  return {
    at: new Date(p.timestamp).toISOString(),
    lat: Number(p.coords.latitude.toFixed(7)),
    lon: Number(p.coords.longitude.toFixed(7)),
    accuracy: Math.round(p.coords.accuracy),
  };
}
