import { getTimes } from 'suncalc';
import { utcOffsetMs } from '../../domain/index.js';

/**
 * Time-of-day schedules shared by kinds: GB 12523-2011 day (06–22) and night
 * periods for noise limits, and lighting hours from dusk to dawn at the city's
 * latitude and longitude (domain.md, streetlight "Schedule") or from a fixed
 * timetable. Pure functions of a time; sun times are memoised per local day
 * because suncalc costs microseconds and a day has one dusk.
 */

/**
 * The city's clock: an IANA zone (the pack uses CITY_TIMEZONE, decision 0117),
 * or a fixed offset in minutes as rules stored before the zone was a setting
 * say. A zone wins when both are given.
 */
export interface CityClock {
  readonly timeZone?: string;
  /** Offset of local time from UTC in minutes (China Standard Time: 480). */
  readonly tzOffsetMin?: number;
}

const clockSchemaProperties = {
  timeZone: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z][A-Za-z0-9_+/-]*$' },
  tzOffsetMin: { type: 'integer', minimum: -720, maximum: 840 },
} as const;
const clockRequired = [{ required: ['timeZone'] }, { required: ['tzOffsetMin'] }] as const;

const quarterHourMs = 900_000;
const zoneMemo = new Map<string, { bucket: number; offsetMs: number }>();

/**
 * Offset of local time from UTC at `ms`. A zone's offset is memoised per
 * quarter hour (zones change offset only on quarter hours), so a reading costs
 * a map lookup, not an Intl call.
 */
export function offsetAt(ms: number, clock: CityClock): number {
  const zone = clock.timeZone;
  if (zone === undefined) return (clock.tzOffsetMin ?? 0) * 60_000;
  const bucket = Math.floor(ms / quarterHourMs);
  const memo = zoneMemo.get(zone);
  if (memo !== undefined && memo.bucket === bucket) return memo.offsetMs;
  const offsetMs = utcOffsetMs(bucket * quarterHourMs, zone);
  if (memo !== undefined) {
    memo.bucket = bucket;
    memo.offsetMs = offsetMs;
  } else zoneMemo.set(zone, { bucket, offsetMs });
  return offsetMs;
}

export interface DayNight extends CityClock {
  /** Local hour the day period starts (GB 12523-2011: 06). */
  readonly dayStartHour: number;
  /** Local hour the night period starts (GB 12523-2011: 22). */
  readonly dayEndHour: number;
}

export const dayNightSchema = {
  type: 'object',
  required: ['dayStartHour', 'dayEndHour'],
  anyOf: clockRequired,
  additionalProperties: false,
  properties: {
    dayStartHour: { type: 'number', minimum: 0, maximum: 24 },
    dayEndHour: { type: 'number', minimum: 0, maximum: 24 },
    ...clockSchemaProperties,
  },
} as const;

export function isDay(ms: number, s: DayNight): boolean {
  const localH = ((((ms + offsetAt(ms, s)) % 86_400_000) + 86_400_000) % 86_400_000) / 3_600_000;
  return localH >= s.dayStartHour && localH < s.dayEndHour;
}

export interface LightingHours extends CityClock {
  readonly lat: number;
  readonly lon: number;
  /** Minutes after sunset the lamps are due on and before sunrise they may go off (default 0). */
  readonly offsetMin?: number;
  /** A fixed timetable instead of dusk/dawn: local "HH:MM" on and off. */
  readonly timetable?: { readonly on: string; readonly off: string };
  /** Dimming window (domain.md schedule): lamps lit in it should be at or under `maxDim` % output. */
  readonly dimming?: { readonly from: string; readonly to: string; readonly maxDim: number };
  /** Dark-sky hours (暗夜保护区, seed 002): lamps of a dark-sky zone are due off in this window. */
  readonly darkSky?: { readonly from: string; readonly to: string };
}

/** Local "HH:MM" from (inclusive) to (exclusive); wraps past midnight when from > to. */
export interface LocalWindow {
  readonly from: string;
  readonly to: string;
}

const hhmm = { type: 'string', pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' } as const;

export const lightingHoursSchema = {
  type: 'object',
  required: ['lat', 'lon'],
  anyOf: clockRequired,
  additionalProperties: false,
  properties: {
    lat: { type: 'number', minimum: -90, maximum: 90 },
    lon: { type: 'number', minimum: -180, maximum: 180 },
    ...clockSchemaProperties,
    offsetMin: { type: 'number', minimum: -120, maximum: 120 },
    timetable: {
      type: 'object',
      required: ['on', 'off'],
      additionalProperties: false,
      properties: { on: hhmm, off: hhmm },
    },
    dimming: {
      type: 'object',
      required: ['from', 'to', 'maxDim'],
      additionalProperties: false,
      properties: { from: hhmm, to: hhmm, maxDim: { type: 'number', minimum: 0, maximum: 100 } },
    },
    darkSky: {
      type: 'object',
      required: ['from', 'to'],
      additionalProperties: false,
      properties: { from: hhmm, to: hhmm },
    },
  },
} as const;

const sunCache = new Map<string, { sunrise: number; sunset: number }>();

function sunTimes(day: number, h: LightingHours): { sunrise: number; sunset: number } {
  const key = `${day}|${h.lat}|${h.lon}|${h.timeZone ?? h.tzOffsetMin}`;
  let t = sunCache.get(key);
  if (!t) {
    // Local noon of that day, so suncalc picks the right date at any longitude.
    const localNoon = day * 86_400_000 + 12 * 3_600_000;
    const noon = new Date(localNoon - offsetAt(localNoon, h));
    const times = getTimes(noon, h.lat, h.lon);
    // Polar day or night has no sunrise: treat as never dark or always dark by altitude-free default.
    t = {
      sunrise: times.sunrise?.getTime() ?? noon.getTime(),
      sunset: times.sunset?.getTime() ?? noon.getTime(),
    };
    if (sunCache.size > 10_000) sunCache.clear();
    sunCache.set(key, t);
  }
  return t;
}

const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/**
 * Whether a time falls in a local window (from inclusive, to exclusive,
 * wrapping midnight), with the window's minutes parsed once: no work but
 * arithmetic per reading.
 */
export function localWindowClock(clock: CityClock, w: LocalWindow): (ms: number) => boolean {
  const from = minutes(w.from);
  const to = minutes(w.to);
  return (ms) => {
    const local = ms + offsetAt(ms, clock);
    const m = Math.floor((((local % 86_400_000) + 86_400_000) % 86_400_000) / 60_000);
    return from > to ? m >= from || m < to : m >= from && m < to;
  };
}

/** Whether lamps are due on at `ms`: between dusk and dawn, or inside the timetable. */
export function isLightingTime(ms: number, h: LightingHours): boolean {
  const local = ms + offsetAt(ms, h);
  if (h.timetable) return localWindowClock(h, { from: h.timetable.on, to: h.timetable.off })(ms);
  const day = Math.floor(local / 86_400_000);
  const { sunrise, sunset } = sunTimes(day, h);
  const offset = (h.offsetMin ?? 0) * 60_000;
  return ms < sunrise - offset || ms >= sunset + offset;
}

/** `isLightingTime` with the day's sun times kept in the closure: no allocation per reading. */
export function lightingClock(h: LightingHours): (ms: number) => boolean {
  if (h.timetable) {
    return localWindowClock(h, { from: h.timetable.on, to: h.timetable.off });
  }
  let day = NaN;
  let sunrise = 0;
  let sunset = 0;
  const offset = (h.offsetMin ?? 0) * 60_000;
  return (ms) => {
    const d = Math.floor((ms + offsetAt(ms, h)) / 86_400_000);
    if (d !== day) {
      ({ sunrise, sunset } = sunTimes(d, h));
      day = d;
    }
    return ms < sunrise - offset || ms >= sunset + offset;
  };
}
