import type { FacilityType } from '../domain/index.js';
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

export const scenarioNames = ['normal', 'dust-spike', 'gas-leak'] as const;
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
