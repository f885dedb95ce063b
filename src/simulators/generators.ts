import { getTimes } from 'suncalc';
import { seededRandom, type FacilityType } from '../domain/index.js';

/**
 * Realistic telemetry per facility type (docs/domain.md), pure and seeded:
 * the same rng, time and state give the same reading. Values stay well inside
 * the catalog's physical ranges and, in normal operation, under every default
 * alarm threshold, so a normal fleet raises no alarms.
 */

export type Metric = number | boolean | string;
export type Reading = Record<string, Metric>;

/** What a device remembers between readings: counters and where an elevator car is. */
export interface DeviceState {
  energyKwh?: number;
  lastMs?: number;
  battery?: number;
  floor?: number;
  targetFloor?: number;
}

/** The demo city is 湘潭市: China Standard Time, UTC+8, no daylight saving. */
const cityUtcOffsetMs = 8 * 3_600_000;

/** Local time of day in hours, 0 <= h < 24. */
export function localHour(tMs: number): number {
  const dayMs = 86_400_000;
  return ((((tMs + cityUtcOffsetMs) % dayMs) + dayMs) % dayMs) / 3_600_000;
}

const between = (rng: () => number, lo: number, hi: number): number => lo + (hi - lo) * rng();
const round = (x: number, decimals: number): number => {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
};
const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

/** The demo city's coordinates (湘潭市), for dusk and dawn. */
const city = { lat: 27.83, lon: 112.94 };
const margin = 5 * 60_000;

/**
 * Lighting schedule of the demo city: on from 5 minutes before sunset to
 * 5 minutes after sunrise (the rule pack expects lamps lit from dusk and
 * flags lamps lit in daylight for 30 minutes), dimmed to half after midnight.
 */
export function streetlightSchedule(tMs: number): { on: boolean; dim: number } {
  // Noon of the local (China Standard Time, UTC+8) day this instant falls in.
  const local = tMs + 8 * 3_600_000;
  const noon = local - (local % 86_400_000) + 4 * 3_600_000;
  const today = getTimes(new Date(noon), city.lat, city.lon);
  const sunset = today.sunset?.getTime() ?? noon + 6 * 3_600_000;
  const sunrise = today.sunrise?.getTime() ?? noon - 6 * 3_600_000;
  const h = localHour(tMs);
  const dark = h >= 12 ? tMs >= sunset - margin : tMs <= sunrise + margin;
  if (!dark) return { on: false, dim: 0 };
  return { on: true, dim: h >= 12 ? 100 : 50 };
}

function streetlight(rng: () => number, tMs: number, state: DeviceState): Reading {
  const { on, dim } = streetlightSchedule(tMs);
  const voltage = round(between(rng, 215, 225), 1);
  // A 100 W LED lamp draws ~0.45 A at full output; a dimmed driver draws less, off ~0.
  const current = on ? round(0.45 * (0.1 + (0.9 * dim) / 100) * between(rng, 0.97, 1.03), 3) : 0;
  const pf = on ? round(between(rng, 0.92, 0.98), 2) : 0;
  const power = round(voltage * current * pf, 1);
  const elapsedH = state.lastMs === undefined ? 0 : Math.max(0, tMs - state.lastMs) / 3_600_000;
  state.energyKwh =
    (state.energyKwh ?? round(between(rng, 100, 2000), 1)) + (power / 1000) * elapsedH;
  state.lastMs = tMs;
  return {
    on,
    dim,
    voltage,
    current,
    power,
    pf,
    leakage: round(between(rng, 0.5, 4), 2),
    energy: round(state.energyKwh, 3),
  };
}

function manhole(rng: () => number, _tMs: number, state: DeviceState): Reading {
  // Batteries last years: drain a hair per reading, never below the 20 % alarm.
  state.battery = clamp((state.battery ?? between(rng, 60, 100)) - between(rng, 0, 0.01), 60, 100);
  return {
    tilt: round(between(rng, 0, 2), 2),
    open: false,
    water_level: round(between(rng, 120, 250), 1),
    battery: round(state.battery, 1),
    gas_ch4: round(between(rng, 0, 1), 2),
  };
}

function pumpStation(rng: () => number): Reading {
  const wellLevel = round(between(rng, 1, 2), 2);
  // Duty pump starts at 1.4 m, the standby pump joins at 1.8 m.
  const running = [wellLevel > 1.4, wellLevel > 1.8];
  const reading: Reading = { well_level: wellLevel, power_ok: true };
  let flow = 0;
  running.forEach((isRunning, i) => {
    const n = i + 1;
    reading[`pump_${n}_running`] = isRunning;
    reading[`pump_${n}_current`] = isRunning ? round(between(rng, 45, 55), 1) : 0;
    reading[`pump_${n}_fault`] = false;
    if (isRunning) flow += between(rng, 380, 420);
  });
  reading.flow = round(flow, 1);
  return reading;
}

function waterlogging(): Reading {
  // A dry day: an ultrasonic depth gauge reads zero water on the road.
  return { depth: 0, rain_mm_h: 0 };
}

function gas(rng: () => number, tMs: number): Reading {
  // Low-pressure regulator, set point 3.0 kPa (demo city attrs), well inside ±10 %.
  const daily = Math.sin(((localHour(tMs) - 9) / 24) * 2 * Math.PI);
  return {
    pressure: round(3.0 + between(rng, -0.05, 0.05), 3),
    ch4: round(between(rng, 0, 3), 2),
    temp: round(18 + 6 * daily + between(rng, -0.5, 0.5), 1),
    valve_open: true,
    // Cathodic protection is effective at -850 mV (CSE) or more negative.
    cathodic_mv: Math.round(between(rng, -1100, -900)),
  };
}

function dustNoise(rng: () => number, tMs: number): Reading {
  const h = localHour(tMs);
  const day = h >= 6 && h < 22; // GB 12523-2011 day period
  const pm10 = round(day ? between(rng, 40, 110) : between(rng, 30, 70), 1);
  return {
    pm10,
    pm25: round(pm10 * between(rng, 0.55, 0.65), 1),
    tsp: round(pm10 * between(rng, 1.4, 1.8), 1),
    noise: round(day ? between(rng, 55, 68) : between(rng, 42, 50), 1),
    wind_speed: round(between(rng, 0.5, 5), 1),
    humidity: round(between(rng, 40, 85), 1),
  };
}

function elevator(rng: () => number, _tMs: number, state: DeviceState): Reading {
  const top = 18;
  const floor = state.floor ?? 1 + Math.floor(rng() * top);
  let target = state.targetFloor ?? floor;
  // Idle cars get called now and then; a moving car travels a few floors per reading.
  if (target === floor && rng() < 0.4) target = 1 + Math.floor(rng() * top);
  const step = Math.min(Math.abs(target - floor), 1 + Math.floor(rng() * 3));
  const next = floor + Math.sign(target - floor) * step;
  const moving = next !== target;
  state.floor = next;
  state.targetFloor = target;
  return {
    floor: next,
    door_open: !moving && rng() < 0.3,
    moving,
    direction: moving ? (target > next ? 'up' : 'down') : 'stop',
    speed: moving ? round(between(rng, 1.4, 1.75), 2) : 0,
    vibration: round(moving ? between(rng, 0.1, 0.3) : between(rng, 0, 0.05), 3),
    people: moving ? rng() < 0.7 : rng() < 0.1,
    // The controller's active fault (docs/mqtt.md vocabulary); `none` clears a fault alarm.
    fault_code: 'none',
  };
}

/**
 * One reading of a facility type at time tMs: its metrics only (the caller
 * adds `ts`). Pass the same `state` object for the same device to get
 * counters that grow and elevator cars that travel between floors.
 */
export function sampleReading(
  type: FacilityType,
  rng: () => number,
  tMs: number,
  state: DeviceState = {},
): Reading {
  switch (type) {
    case 'streetlight':
      return streetlight(rng, tMs, state);
    case 'manhole':
      return manhole(rng, tMs, state);
    case 'pump_station':
      return pumpStation(rng);
    case 'waterlogging':
      return waterlogging();
    case 'gas':
      return gas(rng, tMs);
    case 'dust_noise':
      return dustNoise(rng, tMs);
    case 'elevator':
      return elevator(rng, tMs, state);
  }
}

/** Seeded PRNG for reproducible fleets (shared with the demo city). */
export const seededRng = seededRandom;
