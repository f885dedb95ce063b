import { describe, expect, it } from 'vitest';
import { fixOf, PatrolTrack, type TrackOptions } from './patrol-track.js';

const options: TrackOptions = {
  minMoveM: 5,
  keepEveryMs: 30_000,
  lostAfterMs: 30_000,
  batchMax: 3,
};
const t0 = Date.parse('2026-12-02T08:00:00Z');
const fix = (s: number, north: number) => ({
  at: new Date(t0 + s * 1000).toISOString(),
  // ~1.11 m per 1e-5 degree of latitude
  lat: 27.83 + north * 1e-5,
  lon: 112.94,
  accuracy: 8,
});

describe('a patrol’s GPS track on the phone', () => {
  it('keeps a fix that moved, drops one that stood still, and counts the metres walked', () => {
    const track = new PatrolTrack(t0, options);
    expect(track.add(fix(0, 0), t0)).toBe(true);
    expect(track.add(fix(2, 1), t0 + 2000)).toBe(false);
    expect(track.add(fix(4, 10), t0 + 4000)).toBe(true);
    expect(track.add(fix(4, 20), t0 + 4000)).toBe(false);
    // Standing still, but half a minute later: kept, so the track shows the officer was there.
    expect(track.add(fix(40, 10), t0 + 40_000)).toBe(true);
    expect(track.stats.kept).toBe(3);
    expect(track.stats.distanceM).toBeGreaterThan(10);
    expect(track.stats.distanceM).toBeLessThan(12);
  });

  it('says the GPS is lost after a silence or an error, and counts the gap when fixes return', () => {
    const track = new PatrolTrack(t0, options);
    expect(track.state(t0)).toBe('waiting');
    track.add(fix(0, 0), t0);
    expect(track.state(t0 + 10_000)).toBe('ok');
    expect(track.state(t0 + 31_000)).toBe('lost');
    expect(track.lostForS(t0 + 45_000)).toBe(45);
    track.add(fix(60, 1), t0 + 60_000);
    expect(track.state(t0 + 60_000)).toBe('ok');
    expect(track.stats.gaps).toBe(1);
    // A jump across the gap is not walked distance.
    expect(track.stats.distanceM).toBe(0);

    track.fail(t0 + 61_000);
    expect(track.state(t0 + 61_000)).toBe('lost');
    expect(track.lostForS(t0 + 64_000)).toBe(3);
    track.add(fix(70, 100), t0 + 70_000);
    expect(track.stats.gaps).toBe(2);
  });

  it('sends points in batches and puts a batch the network refused back in front', () => {
    const track = new PatrolTrack(t0, options);
    for (let i = 0; i < 5; i++) track.add(fix(i * 40, i * 10), t0 + i * 40_000);
    const first = track.takeBatch();
    expect(first).toHaveLength(3);
    expect(track.pending()).toBe(2);
    track.returnBatch(first);
    expect(track.takeBatch().map((f) => f.at)).toEqual(first.map((f) => f.at));
    expect(track.takeBatch()).toHaveLength(2);
    expect(track.pending()).toBe(0);
  });

  it('turns a browser position into the fix the hub takes', () => {
    expect(
      fixOf({
        timestamp: t0,
        coords: { latitude: 27.123456789, longitude: 112.987654321, accuracy: 12.6 },
      }),
    ).toEqual({ at: '2026-12-02T08:00:00.000Z', lat: 27.1234568, lon: 112.9876543, accuracy: 13 });
  });
});
