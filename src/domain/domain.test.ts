import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import {
  areaLevelOf,
  deviceTopic,
  facilityTypes,
  generateDemoCity,
  parseDeviceTopic,
  parseGridCode,
  readingSchemas,
} from './index.js';

const ajv = new Ajv({ allErrors: true });
(addFormats as unknown as (a: Ajv) => void)(ajv);

describe('facility catalog schemas', () => {
  it('compiles a schema for each of the seven facility types', () => {
    expect(facilityTypes).toHaveLength(7);
    for (const t of facilityTypes) expect(() => ajv.compile(readingSchemas[t])).not.toThrow();
  });

  it('accepts a plausible reading and refuses unknown metrics and out-of-range values', () => {
    const v = ajv.compile(readingSchemas.dust_noise);
    expect(v({ ts: Date.now(), pm10: 80, noise: 62 })).toBe(true);
    expect(v({ pm10: 80, colour: 'red' })).toBe(false);
    expect(v({ pm10: -5 })).toBe(false);
    expect(v({ noise: 400 })).toBe(false);
    expect(v({ ts: 'yesterday', pm10: 1 })).toBe(false);
  });

  it('accepts per-pump metrics of a pump station by pattern', () => {
    const v = ajv.compile(readingSchemas.pump_station);
    expect(v({ well_level: 2.1, pump_1_running: true, pump_2_current: 35.5 })).toBe(true);
    expect(v({ pump_10_running: true })).toBe(false);
  });
});

describe('topics', () => {
  it('builds and parses device topics symmetrically', () => {
    expect(parseDeviceTopic(deviceTopic('SL-00001', 'telemetry'))).toEqual({
      deviceId: 'SL-00001',
      kind: 'telemetry',
    });
    expect(parseDeviceTopic('devices/SL-00001/commands/ack')?.kind).toBe('commands/ack');
  });

  it('refuses wildcards, unknown kinds and foreign roots', () => {
    expect(parseDeviceTopic('devices/+/telemetry')).toBeNull();
    expect(parseDeviceTopic('devices/SL-1/other')).toBeNull();
    expect(parseDeviceTopic('$SYS/x/telemetry')).toBeNull();
    expect(parseDeviceTopic('devices//telemetry')).toBeNull();
  });
});

describe('grid codes', () => {
  it('splits a 15-digit grid code into its ancestors', () => {
    expect(parseGridCode('430302001002003')).toEqual({
      district: '430302',
      street: '430302001',
      community: '430302001002',
      grid: '430302001002003',
    });
    expect(parseGridCode('4303')).toBeNull();
  });

  it('reads the level of an area code from its digits, the empty prefix being the city', () => {
    expect(['', '430302', '430302001', '430302001002', '430302001002003'].map(areaLevelOf)).toEqual(
      ['city', 'district', 'street', 'community', 'grid'],
    );
    expect(areaLevelOf('4303')).toBeNull();
  });
});

describe('demo city', () => {
  it('is reproducible and has 2 districts, 4 streets, 8 communities and 32 grids', () => {
    const a = generateDemoCity();
    const b = generateDemoCity();
    expect(a).toEqual(b);
    const count = (level: string) => a.areas.filter((x) => x.level === level).length;
    expect([count('district'), count('street'), count('community'), count('grid')]).toEqual([
      2, 4, 8, 32,
    ]);
    expect(a.devices).toHaveLength(1000);
    expect(new Set(a.devices.map((d) => d.type)).size).toBe(7);
    expect(new Set(a.devices.map((d) => d.id)).size).toBe(1000);
  });
});

describe('a small demo city', () => {
  it('has a device of every facility type even with seven devices', () => {
    const city = generateDemoCity({ deviceCount: 7 });
    expect(city.devices.map((d) => d.type).sort()).toEqual([...facilityTypes].sort());
  });
});
