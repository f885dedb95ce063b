import { getTimes } from 'suncalc';

/**
 * Time-of-day schedules shared by kinds: GB 12523-2011 day (06–22) and night
 * periods for noise limits, and lighting hours from dusk to dawn at the city's
 * latitude and longitude (domain.md, streetlight "Schedule") or from a fixed
 * timetable. Pure functions of a time; sun times are memoised per local day
 * because suncalc costs microseconds and a day has one dusk.
 */

export interface DayNight {
  /** Local hour the day period starts (GB 12523-2011: 06). */
  readonly dayStartHour: number;
  /** Local hour the night period starts (GB 12523-2011: 22). */
  readonly dayEndHour: number;
  /** Offset of local time from UTC in minutes (China Standard Time: 480). */
  readonly tzOffsetMin: number;
}

export const dayNightSchema = {
  type: 'object',
  required: ['dayStartHour', 'dayEndHour', 'tzOffsetMin'],
  additionalProperties: false,
  properties: {
    dayStartHour: { type: 'number', minimum: 0, maximum: 24 },
    dayEndHour: { type: 'number', minimum: 0, maximum: 24 },
    tzOffsetMin: { type: 'integer', minimum: -720, maximum: 840 },
  },
} as const;

export function isDay(ms: number, s: DayNight): boolean {
  const localH =
    ((((ms + s.tzOffsetMin * 60_000) % 86_400_000) + 86_400_000) % 86_400_000) / 3_600_000;
  return localH >= s.dayStartHour && localH < s.dayEndHour;
}

export interface LightingHours {
  readonly lat: number;
  readonly lon: number;
  readonly tzOffsetMin: number;
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
  required: ['lat', 'lon', 'tzOffsetMin'],
  additionalProperties: false,
  properties: {
    lat: { type: 'number', minimum: -90, maximum: 90 },
    lon: { type: 'number', minimum: -180, maximum: 180 },
    tzOffsetMin: { type: 'integer', minimum: -720, maximum: 840 },
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
  const key = `${day}|${h.lat}|${h.lon}`;
  let t = sunCache.get(key);
  if (!t) {
    // Local noon of that day, so suncalc picks the right date at any longitude.
    const noon = new Date(day * 86_400_000 + 12 * 3_600_000 - h.tzOffsetMin * 60_000);
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
export function localWindowClock(tzOffsetMin: number, w: LocalWindow): (ms: number) => boolean {
  const from = minutes(w.from);
  const to = minutes(w.to);
  const offset = tzOffsetMin * 60_000;
  return (ms) => {
    const m = Math.floor(((((ms + offset) % 86_400_000) + 86_400_000) % 86_400_000) / 60_000);
    return from > to ? m >= from || m < to : m >= from && m < to;
  };
}

/** Whether lamps are due on at `ms`: between dusk and dawn, or inside the timetable. */
export function isLightingTime(ms: number, h: LightingHours): boolean {
  const local = ms + h.tzOffsetMin * 60_000;
  if (h.timetable)
    return localWindowClock(h.tzOffsetMin, { from: h.timetable.on, to: h.timetable.off })(ms);
  const day = Math.floor(local / 86_400_000);
  const { sunrise, sunset } = sunTimes(day, h);
  const offset = (h.offsetMin ?? 0) * 60_000;
  return ms < sunrise - offset || ms >= sunset + offset;
}

/** `isLightingTime` with the day's sun times kept in the closure: no allocation per reading. */
export function lightingClock(h: LightingHours): (ms: number) => boolean {
  if (h.timetable) {
    return localWindowClock(h.tzOffsetMin, { from: h.timetable.on, to: h.timetable.off });
  }
  let day = NaN;
  let sunrise = 0;
  let sunset = 0;
  const offset = (h.offsetMin ?? 0) * 60_000;
  return (ms) => {
    const d = Math.floor((ms + h.tzOffsetMin * 60_000) / 86_400_000);
    if (d !== day) {
      ({ sunrise, sunset } = sunTimes(d, h));
      day = d;
    }
    return ms < sunrise - offset || ms >= sunset + offset;
  };
}
