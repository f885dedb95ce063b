import { describe, expect, it } from 'vitest';
import { generateDemoCity } from '../domain/index.js';
import type { DeviceCredential } from './credentials.js';
import { scenarioScripts } from './scenarios.js';
import { planScript } from './script-player.js';

const devices: DeviceCredential[] = generateDemoCity({ deviceCount: 300 }).devices.map((d) => ({
  id: d.id,
  type: d.type,
  gridCode: d.gridCode,
  name: d.name,
  lat: d.lat,
  lon: d.lon,
  secret: 's',
  road: typeof d.attrs.road === 'string' ? d.attrs.road : null,
}));

describe('planning a scripted scenario played by hand', () => {
  it('takes the script’s length divided by the speed, acting on the script’s targets', () => {
    const plan = planScript({ devices, script: scenarioScripts['gas-leak']!, speed: 20 });
    expect(plan.realMs).toBe(60_000);
    expect(plan.targets.map((d) => d.type)).toEqual(['gas']);
  });

  it('refuses a speed under 1, and power-cut faster than real time, in one sentence each', () => {
    expect(() => planScript({ devices, script: scenarioScripts.rainstorm!, speed: 0.5 })).toThrow(
      'The speed must be a number ≥ 1, not 0.5.',
    );
    expect(() => planScript({ devices, script: scenarioScripts['power-cut']!, speed: 2 })).toThrow(
      /play it at --speed 1/,
    );
    expect(
      planScript({ devices, script: scenarioScripts['power-cut']!, speed: 1 }).targets.length,
    ).toBeGreaterThan(0);
  });

  it('says why lamp scenarios find no lamps in a credentials file without roads', () => {
    const noRoads = devices.map((d) => ({ ...d, road: null }));
    expect(() =>
      planScript({ devices: noRoads, script: scenarioScripts['lamp-failures']!, speed: 1 }),
    ).toThrow('lamp scenarios need its road column');
  });
});
