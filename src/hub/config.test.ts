import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('city time zone and working hours configuration', () => {
  it('defaults to China Standard Time and 08:30–12:00, 13:30–17:30', () => {
    const c = loadConfig({});
    expect(c.cityTimezone).toBe('Asia/Shanghai');
    expect(c.workingHours).toBe('08:30-12:00,13:30-17:30');
  });

  it('refuses an unknown time zone and unusable working hours, naming the variable', () => {
    expect(loadConfig({ CITY_TIMEZONE: 'Asia/Urumqi' }).cityTimezone).toBe('Asia/Urumqi');
    expect(() => loadConfig({ CITY_TIMEZONE: 'China/Xiangtan' })).toThrow(
      /CITY_TIMEZONE.*"China\/Xiangtan"/,
    );
    expect(() => loadConfig({ WORKING_HOURS: '9-17' })).toThrow(/WORKING_HOURS/);
    expect(() => loadConfig({ WORKING_HOURS: '13:30-17:30,08:30-12:00' })).toThrow(
      /WORKING_HOURS: periods must be ascending/,
    );
  });
});

describe("the simulator's defaults and the hub's rate limit (issue #17)", () => {
  it("keep a simulated device at or under the hub's default per-device rate", async () => {
    const { createFleet } = await import('../simulators/index.js');
    const limit = loadConfig({}).mqttRatePerS;
    const devices = ['SL-0001', 'SL-0002'].map((id) => ({
      id,
      type: 'streetlight' as const,
      gridCode: '430302001001001',
      name: id,
      lat: 27.83,
      lon: 112.94,
      secret: 'x'.repeat(24),
      road: null,
    }));
    const url = 'mqtt://127.0.0.1:1';
    // The fleet's own ceiling (its CLI's --max-device-rate default too) is the hub's default.
    expect(() => createFleet({ url, devices, ratePerSecond: 2 * limit })).not.toThrow();
    expect(() => createFleet({ url, devices, ratePerSecond: 2 * limit + 1 })).toThrow(
      /over the hub's limit/,
    );
  });
});
