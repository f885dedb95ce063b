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
