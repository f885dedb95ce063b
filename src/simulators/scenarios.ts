import { areaAt, type FacilityType } from '../domain/index.js';
import type { Reading } from './generators.js';

/**
 * Named situations a fleet can play. A scenario acts on one device, the first
 * of its target type in the fleet, and leaves every other device normal, so
 * the alarm it causes is easy to find in the control room.
 */
export interface Scenario {
  readonly name: ScenarioName;
  /** One line for `--help` and `--list-scenarios`, English then 中文. */
  readonly description: string;
  /** Type of the device the scenario acts on; the CLI keeps one such device in the fleet. */
  readonly targetType?: FacilityType;
  /**
   * A device in alarm reports on its own cadence besides its round-robin turn
   * (domain.md: events are reported immediately), so the hub's "held for N s"
   * rules fire however large the fleet and however low the rate.
   */
  readonly targetIntervalMs?: number;
  /**
   * On start the target device first uploads this much history, one reading a
   * minute with past `ts`, as a device flushing its buffer after a reconnect.
   */
  readonly backfillMs?: number;
  /** Turns the target device's normal reading into the scenario's one. */
  readonly alter?: (reading: Reading, rng: () => number) => Reading;
}

export const scenarioNames = ['normal', 'dust-spike', 'gas-leak', 'elevator-overrun'] as const;
export type ScenarioName = (typeof scenarioNames)[number];

export const scenarios: Readonly<Record<ScenarioName, Scenario>> = {
  normal: {
    name: 'normal',
    description:
      'Every device reports normal readings; no alarm expected. 全部设备正常上报，不应产生告警。',
  },
  'dust-spike': {
    name: 'dust-spike',
    description:
      'PM10 at the first dust monitor climbs to ~260 µg/m³ and stays; 20 min of backfill trip the 15-min rule at once. 首个扬尘监测点 PM10 升至约 260 µg/m³ 并保持，补传 20 分钟历史数据，立即触发告警。',
    targetType: 'dust_noise',
    targetIntervalMs: 60_000,
    // The hub's default rule wants pm10 > 200 held 15 min on the readings' own ts.
    backfillMs: 20 * 60_000,
    alter: (reading, rng) => {
      const pm10 = Math.round(250 + 20 * rng());
      return { ...reading, pm10, pm25: Math.round(pm10 * 0.6), tsp: Math.round(pm10 * 1.6) };
    },
  },
  'gas-leak': {
    name: 'gas-leak',
    description:
      'CH4 at the first gas station goes to 25 %LEL and stays (level-1 alarm after 30 s). 首个燃气调压站甲烷浓度升至 25 %LEL 并保持（30 秒后一级报警）。',
    targetType: 'gas',
    targetIntervalMs: 5_000,
    // A steady 25 %LEL: over the 20 %LEL level-1 limit, not "still rising" toward level 2.
    alter: (reading) => ({ ...reading, ch4: 25 }),
  },
  'elevator-overrun': {
    name: 'elevator-overrun',
    description:
      'The first car, empty, reports a top overrun (fault_code top_overrun) and stays stopped: a critical alarm, out of service. 首台电梯冲顶（空载），停梯，严重告警。',
    targetType: 'elevator',
    targetIntervalMs: 60_000,
    alter: (reading) => ({
      ...reading,
      moving: false,
      direction: 'stop',
      speed: 0,
      door_open: false,
      people: false,
      fault_code: 'top_overrun',
    }),
  },
};

export function isScenarioName(value: unknown): value is ScenarioName {
  return typeof value === 'string' && (scenarioNames as readonly string[]).includes(value);
}

export function getScenario(name: string): Scenario {
  if (!isScenarioName(name)) {
    throw new Error(`Unknown scenario "${name}"; choose one of: ${scenarioNames.join(', ')}.`);
  }
  return scenarios[name];
}

/**
 * The first `count` devices, with the device the scenario acts on swapped in
 * for the last one when the first `count` hold none of its type.
 */
export function pickDevices<D extends { readonly type: FacilityType }>(
  all: readonly D[],
  count: number,
  scenario: Scenario,
): D[] {
  const picked = all.slice(0, Math.max(1, count));
  const type = scenario.targetType;
  if (type && !picked.some((d) => d.type === type)) {
    const needed = all.find((d) => d.type === type);
    if (!needed) {
      throw new Error(`Scenario ${scenario.name} needs a ${type} device and the fleet has none.`);
    }
    picked[picked.length - 1] = needed;
  }
  return picked;
}

/**
 * Scripted scenarios (#4): a whole fleet's readings over a stretch of time,
 * with one situation played on top, for tests that assert exactly which
 * alarms open and clear and which do not. Pure data: the tests feed the
 * readings to the rules engine with an injected clock, or publish them over
 * MQTT. Every device reports normal readings at its type's interval
 * (domain.md), except where the situation says otherwise; `null` is silence.
 */
export interface ScriptDevice {
  readonly id: string;
  readonly type: FacilityType;
  readonly gridCode: string;
  readonly road?: string | null;
}

export interface ScriptReading {
  readonly timeMs: number;
  readonly deviceId: string;
  readonly metrics: Reading;
}

export interface ScenarioScript {
  readonly name: string;
  readonly description: string;
  /** Local (UTC+8) time of day the script starts, so night and day rules see the right hours. */
  readonly startLocal: string;
  readonly durationMin: number;
  /** The devices the situation acts on, chosen from the fleet. */
  targets(fleet: readonly ScriptDevice[]): ScriptDevice[];
  /** Replaces a target's reading at `minute`; null: silent; undefined: normal. */
  alter(
    target: ScriptDevice,
    index: number,
    minute: number,
    normal: Reading,
  ): Reading | null | undefined;
  /** Extra reporting cadence of targets in alarm (domain.md: every minute when wet), minutes. */
  readonly targetIntervalMin?: number;
}

const intervalMin: Record<FacilityType, number> = {
  streetlight: 5,
  manhole: 30,
  pump_station: 1,
  waterlogging: 5,
  gas: 1,
  dust_noise: 1,
  elevator: 1,
};

/** Deterministic normal readings: no rule of the default pack may fire on them. */
export function normalReading(type: FacilityType, localHourOfDay: number): Reading {
  const night = localHourOfDay >= 19 || localHourOfDay < 6;
  switch (type) {
    case 'streetlight':
      // Dimmed to half after midnight, as the pack's streetlight.not_dimmed expects.
      if (night && localHourOfDay < 6)
        return { on: true, dim: 50, voltage: 220, current: 0.25, power: 52, pf: 0.95, leakage: 2 };
      return night
        ? { on: true, dim: 100, voltage: 220, current: 0.45, power: 95, pf: 0.96, leakage: 2 }
        : { on: false, dim: 0, voltage: 220, current: 0, power: 0, pf: 0, leakage: 1 };
    case 'manhole':
      return { tilt: 1, open: false, water_level: 150, battery: 80 };
    case 'pump_station':
      return {
        well_level: 1,
        power_ok: true,
        flow: 300,
        pump_1_running: true,
        pump_1_current: 35,
        pump_1_fault: false,
      };
    case 'waterlogging':
      return { depth: 0, rain_mm_h: 0 };
    case 'gas':
      return { pressure: 3, ch4: 1, temp: 15, valve_open: true };
    case 'dust_noise':
      return { pm10: 80, pm25: 45, tsp: 130, noise: night ? 48 : 60, wind_speed: 2, humidity: 60 };
    case 'elevator':
      return {
        floor: 3,
        door_open: false,
        moving: true,
        speed: 1,
        vibration: 0.2,
        people: true,
        fault_code: 'none',
      };
  }
}

/** Epoch ms of a local (UTC+8) time of day on 2026-11-23. */
export function scriptStartMs(startLocal: string): number {
  const [h, m] = startLocal.split(':').map(Number) as [number, number];
  return Date.UTC(2026, 10, 23, h - 8, m);
}

/**
 * Plays a script over a fleet: every reading in time order. `startMs` moves
 * it from its own local time of day to another start (the hand-played
 * scenarios start about now); normal readings follow that time of day.
 */
export function playScript(
  script: ScenarioScript,
  fleet: readonly ScriptDevice[],
  startMs: number = scriptStartMs(script.startLocal),
): ScriptReading[] {
  const startHour = ((((startMs + 8 * 3_600_000) % 86_400_000) + 86_400_000) / 3_600_000) % 24;
  const targets = script.targets(fleet);
  const targetIndex = new Map(targets.map((d, i) => [d.id, i]));
  const out: ScriptReading[] = [];
  fleet.forEach((d, k) => {
    const i = targetIndex.get(d.id);
    const every =
      i !== undefined ? (script.targetIntervalMin ?? intervalMin[d.type]) : intervalMin[d.type];
    // Devices are staggered across their interval, as a real fleet is.
    const offset = k % intervalMin[d.type];
    for (let minute = offset % every; minute < script.durationMin; minute += every) {
      const normal = normalReading(d.type, (startHour + minute / 60) % 24);
      const metrics = i === undefined ? normal : script.alter(d, i, minute, normal);
      if (metrics === null) continue;
      out.push({ timeMs: startMs + minute * 60_000, deviceId: d.id, metrics: metrics ?? normal });
    }
  });
  return out.sort((a, b) => a.timeMs - b.timeMs);
}

const firstOf =
  (type: FacilityType, n = 1) =>
  (fleet: readonly ScriptDevice[]) =>
    fleet.filter((d) => d.type === type).slice(0, n);

/** The road with the most lamps. */
function longestRoad(fleet: readonly ScriptDevice[]): ScriptDevice[] {
  const roads = new Map<string, ScriptDevice[]>();
  for (const d of fleet)
    if (d.type === 'streetlight' && d.road) {
      const key = `${areaAt(d.gridCode, 'district')}:${d.road}`;
      roads.set(key, [...(roads.get(key) ?? []), d]);
    }
  return [...roads.values()].sort((a, b) => b.length - a.length)[0] ?? [];
}

export const scenarioScripts: Readonly<Record<string, ScenarioScript>> = {
  rainstorm: {
    name: 'rainstorm',
    description:
      'A rainstorm floods the first waterlogging point to 45 cm in 40 min and drains in 50; the first pump station’s well rises but its pumps run. 暴雨：首个积水点 40 分钟涨至 45 厘米后回落，泵站正常抽排。',
    startLocal: '14:00',
    durationMin: 100,
    targetIntervalMin: 1,
    targets: (fleet) => [...firstOf('waterlogging')(fleet), ...firstOf('pump_station')(fleet)],
    alter: (d, _i, minute, normal): Reading => {
      if (d.type === 'pump_station')
        return {
          ...normal,
          well_level: minute < 40 ? 1 + minute * 0.05 : 3 - (minute - 40) * 0.04,
        };
      const depth = minute <= 40 ? minute * 1.125 : Math.max(0, 45 - (minute - 40) * 0.9);
      return { depth: Math.round(depth * 10) / 10, rain_mm_h: minute < 40 ? 60 : 2 };
    },
  },
  'lamp-failures': {
    name: 'lamp-failures',
    description:
      'At night 3 % of the lamps of the longest road go dark for 40 min, then are repaired. 夜间最长道路 3% 路灯不亮 40 分钟后修复。',
    startLocal: '21:00',
    durationMin: 60,
    targets: (fleet) => {
      const road = longestRoad(fleet);
      return road.slice(0, Math.ceil(road.length * 0.03));
    },
    alter: (_d, _i, minute, normal) =>
      minute < 40 ? { ...normal, on: false, current: 0, power: 0, pf: 0 } : undefined,
  },
  'dust-episode': {
    name: 'dust-episode',
    description:
      'PM10 at the first site stays near 260 µg/m³ for 70 min after an hour of normal air, then falls to 90; a second site sees one 400 µg/m³ gust. 扬尘：首个工地 PM10 持续约 260 µg/m³ 70 分钟；第二个工地仅一次阵风。',
    startLocal: '08:00',
    durationMin: 180,
    targets: firstOf('dust_noise', 2),
    alter: (_d, i, minute, normal) => {
      if (i === 1) return minute === 30 ? { ...normal, pm10: 400 } : undefined;
      if (minute >= 60 && minute < 130) return { ...normal, pm10: 260 };
      if (minute >= 130) return { ...normal, pm10: 90 };
      return undefined;
    },
  },
  'gas-leak': {
    name: 'gas-leak',
    description:
      'CH4 at the first regulator: 25 %LEL for 3 min, 60 %LEL for 2 min, then 5 %LEL after the valve closes. 燃气泄漏：一级后升至二级，关阀后回落。',
    startLocal: '10:00',
    durationMin: 20,
    targets: firstOf('gas'),
    alter: (_d, _i, minute, normal) =>
      minute >= 5 && minute < 8
        ? { ...normal, ch4: 25 }
        : minute >= 8 && minute < 10
          ? { ...normal, ch4: 60 }
          : minute >= 10
            ? { ...normal, ch4: 5, valve_open: false }
            : undefined,
  },
  'elevator-entrapment': {
    name: 'elevator-entrapment',
    description:
      'The first car stops between floors with people inside for 10 min until rescue opens the doors; the second stops with people for 1 min (a normal stop). 电梯困人 10 分钟；另一台正常停靠 1 分钟。',
    startLocal: '10:00',
    durationMin: 30,
    targets: firstOf('elevator', 2),
    alter: (_d, i, minute, normal) => {
      const stopped = { ...normal, moving: false, speed: 0 };
      if (i === 0 && minute >= 5 && minute < 15) return stopped;
      if (i === 0 && minute === 15) return { ...stopped, door_open: true };
      if (i === 1 && minute === 7) return stopped;
      return undefined;
    },
  },
  'elevator-faults': {
    name: 'elevator-faults',
    description:
      'The first car, empty, reports over-speed (2.3 m/s), a top overrun, a stop outside the door zone and repeated door reopening, 5 min each, then shakes at 0.9 m/s² for 5 min; the second car has one 0.9 m/s² bump. 电梯超速、冲顶、门区外停梯、反复开关门、异常抖动；另一台仅一次颠簸。',
    startLocal: '10:00',
    durationMin: 60,
    targets: firstOf('elevator', 2),
    alter: (_d, i, minute, normal) => {
      if (i === 1) return minute === 30 ? { ...normal, vibration: 0.9 } : undefined;
      // Empty and stopped while a fault holds, so each fault is its own alarm, not a trapping too.
      const stopped = { ...normal, moving: false, speed: 0, people: false, direction: 'stop' };
      if (minute === 5) return { ...normal, speed: 2.3, fault_code: 'overspeed' };
      if (minute > 5 && minute < 10) return { ...stopped, fault_code: 'overspeed' };
      if (minute >= 15 && minute < 20) return { ...stopped, fault_code: 'top_overrun' };
      if (minute >= 25 && minute < 30) return { ...stopped, fault_code: 'stop_outside_door_zone' };
      if (minute >= 35 && minute < 40)
        return { ...stopped, door_open: true, people: true, fault_code: 'door_reopen_repeated' };
      if (minute >= 45 && minute < 50) return { ...normal, vibration: 0.9 };
      return undefined;
    },
  },
  'cabinet-faults': {
    name: 'cabinet-faults',
    description:
      'At night the first lamp’s lighting cabinet reports its circuit: door open 5 min, then the circuit draws no current for 10 min (cable cut), then its supply is lost for 10 min. 夜间路灯控制箱：开门 5 分钟；回路无电流 10 分钟；回路失压 10 分钟。',
    startLocal: '20:00',
    durationMin: 60,
    targetIntervalMin: 1,
    targets: firstOf('streetlight'),
    // The target stands for the cabinet's controller: circuit fields, no lamp fields.
    alter: (_d, _i, minute) => ({
      circuit_on: true,
      circuit_voltage: minute >= 35 && minute < 45 ? 0 : 221,
      circuit_current: (minute >= 15 && minute < 25) || (minute >= 35 && minute < 45) ? 0 : 12.5,
      cabinet_door_open: minute >= 5 && minute < 10,
    }),
  },
  'gas-cutoff': {
    name: 'gas-cutoff',
    description:
      'The first regulator’s outlet pressure jumps to 3.6 kPa and its slam-shut valve trips: no gas downstream for 14 min until a crew resets it. 调压器出口超压，切断阀关闭 14 分钟后复位。',
    startLocal: '10:00',
    durationMin: 30,
    targets: firstOf('gas'),
    alter: (_d, _i, minute, normal) =>
      minute === 5
        ? { ...normal, pressure: 3.6 }
        : minute > 5 && minute < 20
          ? { ...normal, pressure: 0, cutoff_tripped: true }
          : minute >= 20
            ? { ...normal, cutoff_tripped: false }
            : undefined,
  },
  'manhole-lifted': {
    name: 'manhole-lifted',
    description:
      'The first manhole cover is lifted (open, 45°) for 20 min, then put back; the second wobbles at 3°. 井盖被掀开 20 分钟后复位；另一井盖轻微晃动。',
    startLocal: '10:00',
    durationMin: 60,
    targetIntervalMin: 5,
    targets: firstOf('manhole', 2),
    alter: (_d, i, minute, normal) => {
      if (i === 1) return { ...normal, tilt: 3 };
      return minute >= 10 && minute < 30 ? { ...normal, tilt: 45, open: true } : undefined;
    },
  },
  'power-cut': {
    name: 'power-cut',
    description:
      'Every device of the first street goes silent 10 min in and comes back 40 min later (a power cut). 停电：首个街道全部设备离线 40 分钟后恢复。',
    startLocal: '10:00',
    durationMin: 60,
    targets: (fleet) => {
      const first = fleet[0];
      const street = first ? areaAt(first.gridCode, 'street') : null;
      return fleet.filter((d) => areaAt(d.gridCode, 'street') === street);
    },
    alter: (_d, _i, minute) => (minute >= 10 && minute < 50 ? null : undefined),
  },
};
