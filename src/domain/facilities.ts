/**
 * The facility catalog: the seven facility types of docs/domain.md with their
 * metrics, units, physical ranges and default reporting intervals.
 *
 * A physical range is what the quantity can physically be, not an alarm limit:
 * a value outside it is bad input (a dead letter), never a reading or an alarm.
 */

export const facilityTypes = [
  'streetlight',
  'manhole',
  'pump_station',
  'waterlogging',
  'gas',
  'dust_noise',
  'elevator',
] as const;
export type FacilityType = (typeof facilityTypes)[number];

export type MetricKind = 'number' | 'integer' | 'boolean' | 'string';

export interface MetricSpec {
  readonly name: string;
  readonly kind: MetricKind;
  readonly unit?: string;
  readonly min?: number;
  readonly max?: number;
  readonly values?: readonly string[];
  readonly maxLength?: number;
  readonly description: string;
}

export interface FacilitySpec {
  readonly type: FacilityType;
  readonly nameZh: string;
  readonly nameEn: string;
  /** Default reporting interval; offline detection uses 3x this (domain.md, "All types"). */
  readonly reportingIntervalS: number;
  /** Prefix of generated device ids, e.g. SL-000123. */
  readonly idPrefix: string;
  readonly metrics: readonly MetricSpec[];
  /** Metrics named by a pattern, e.g. pump_1_running .. pump_9_running. */
  readonly patternMetrics?: readonly { readonly pattern: string; readonly spec: MetricSpec }[];
}

const bool = (name: string, description: string): MetricSpec => ({
  name,
  kind: 'boolean',
  description,
});
const num = (
  name: string,
  unit: string,
  min: number,
  max: number,
  description: string,
): MetricSpec => ({ name, kind: 'number', unit, min, max, description });

export const facilityCatalog: Readonly<Record<FacilityType, FacilitySpec>> = {
  streetlight: {
    type: 'streetlight',
    nameZh: '路灯',
    nameEn: 'Streetlight',
    reportingIntervalS: 300,
    idPrefix: 'SL',
    metrics: [
      bool('on', 'Lamp lit'),
      num('dim', '%', 0, 100, 'Dimming level'),
      num('voltage', 'V', 0, 500, 'Supply voltage'),
      num('current', 'A', 0, 100, 'Lamp current'),
      num('power', 'W', 0, 10_000, 'Active power'),
      num('pf', '', 0, 1, 'Power factor'),
      num('leakage', 'mA', 0, 10_000, 'Leakage current'),
      num('energy', 'kWh', 0, 1e9, 'Energy counter'),
      // Optional, from the controller in the circuit's lighting cabinet (路灯控制箱), not from a lamp.
      bool('circuit_on', 'Cabinet contactor closed: the circuit is switched on'),
      num('circuit_voltage', 'V', 0, 500, 'Supply voltage at the cabinet'),
      num('circuit_current', 'A', 0, 1000, 'Current of the whole lighting circuit'),
      bool('cabinet_door_open', 'Lighting cabinet door open'),
    ],
  },
  manhole: {
    type: 'manhole',
    nameZh: '井盖',
    nameEn: 'Manhole cover',
    reportingIntervalS: 1800,
    idPrefix: 'MH',
    metrics: [
      num('tilt', 'deg', 0, 180, 'Cover tilt'),
      bool('open', 'Cover open or flipped'),
      num('water_level', 'cm', -100, 2000, 'Water surface below the cover (negative: above it)'),
      num('battery', '%', 0, 100, 'Battery charge'),
      num('gas_ch4', '%LEL', 0, 100, 'Methane in the well'),
    ],
  },
  pump_station: {
    type: 'pump_station',
    nameZh: '排水泵站',
    nameEn: 'Drainage pump station',
    reportingIntervalS: 60,
    idPrefix: 'PS',
    metrics: [
      num('well_level', 'm', 0, 50, 'Water level in the wet well'),
      bool('power_ok', 'Mains power present'),
      num('flow', 'm3/h', 0, 100_000, 'Outflow'),
    ],
    patternMetrics: [
      { pattern: '^pump_[1-9]_running$', spec: bool('pump_n_running', 'Pump n running') },
      {
        pattern: '^pump_[1-9]_current$',
        spec: num('pump_n_current', 'A', 0, 2000, 'Pump n current'),
      },
      { pattern: '^pump_[1-9]_fault$', spec: bool('pump_n_fault', 'Pump n fault') },
    ],
  },
  waterlogging: {
    type: 'waterlogging',
    nameZh: '积水点',
    nameEn: 'Waterlogging point',
    reportingIntervalS: 300,
    idPrefix: 'WL',
    metrics: [
      num('depth', 'cm', 0, 300, 'Water depth on the road'),
      num('rain_mm_h', 'mm/h', 0, 500, 'Rain intensity'),
    ],
  },
  gas: {
    type: 'gas',
    nameZh: '燃气调压设施',
    nameEn: 'Gas pipeline / regulator',
    reportingIntervalS: 60,
    idPrefix: 'GS',
    metrics: [
      // GB 50028: high pressure class tops out at 4.0 MPa.
      num('pressure', 'kPa', 0, 4000, 'Outlet pressure'),
      num('ch4', '%LEL', 0, 100, 'Methane concentration'),
      num('temp', 'degC', -50, 100, 'Temperature'),
      bool('valve_open', 'Valve open'),
      // Optional: the regulator's over-pressure slam-shut valve (切断阀) has closed.
      bool('cutoff_tripped', 'Over-pressure cut-off valve tripped'),
      num('cathodic_mv', 'mV', -3000, 3000, 'Cathodic protection potential'),
    ],
  },
  dust_noise: {
    type: 'dust_noise',
    nameZh: '扬尘噪声监测',
    nameEn: 'Dust & noise monitor',
    reportingIntervalS: 60,
    idPrefix: 'DN',
    metrics: [
      num('pm10', 'ug/m3', 0, 10_000, 'PM10'),
      num('pm25', 'ug/m3', 0, 10_000, 'PM2.5'),
      num('tsp', 'ug/m3', 0, 20_000, 'Total suspended particulates'),
      num('noise', 'dB(A)', 20, 150, 'Sound level LAeq'),
      num('wind_speed', 'm/s', 0, 75, 'Wind speed'),
      num('humidity', '%', 0, 100, 'Relative humidity'),
    ],
  },
  elevator: {
    type: 'elevator',
    nameZh: '电梯',
    nameEn: 'Elevator',
    reportingIntervalS: 60,
    idPrefix: 'EV',
    metrics: [
      { name: 'floor', kind: 'integer', min: -10, max: 200, description: 'Car floor' },
      bool('door_open', 'Door open'),
      bool('moving', 'Car moving'),
      {
        name: 'direction',
        kind: 'string',
        values: ['up', 'down', 'stop'],
        description: 'Direction',
      },
      num('speed', 'm/s', 0, 20, 'Car speed'),
      num('vibration', 'm/s2', 0, 100, 'Car vibration'),
      bool('people', 'Car occupied'),
      // Vocabulary (GB/T 24476 events): elevatorFaultCodes; other vendor codes are stored, not judged.
      { name: 'fault_code', kind: 'string', maxLength: 32, description: 'Controller fault code' },
    ],
  },
};

/**
 * The `fault_code` values the default rule pack reads (docs/mqtt.md), named
 * after the GB/T 24476 event list of domain.md; a car with no fault reports
 * `none`, which is what clears an alarm raised by a code.
 */
export const elevatorFaultCodes = {
  none: 'no active fault',
  stop_outside_door_zone: '门区外停梯 stopped outside the door zone',
  overspeed: '超速 over-speed (governor or controller)',
  top_overrun: '冲顶 overran the top floor',
  bottom_overrun: '蹲底 overran the bottom floor',
  door_fault: '门故障 door or door-lock fault',
  door_reopen_repeated: '反复开关门 door reopening again and again',
} as const;
export type ElevatorFaultCode = keyof typeof elevatorFaultCodes;

export function isFacilityType(value: unknown): value is FacilityType {
  return typeof value === 'string' && (facilityTypes as readonly string[]).includes(value);
}

/** The spec of one metric of a type, including pattern metrics, or undefined. */
export function metricSpec(type: FacilityType, name: string): MetricSpec | undefined {
  const spec = facilityCatalog[type];
  const direct = spec.metrics.find((m) => m.name === name);
  if (direct) return direct;
  return spec.patternMetrics?.find((p) => new RegExp(p.pattern).test(name))?.spec;
}

/**
 * Chinese names of the metrics (the English ones are each spec's
 * `description`); a pattern metric such as `pump_3_running` takes the name
 * of its spec (`pump_n_running`) with n filled in by the screen.
 */
export const metricLabelsZh: Readonly<Record<string, string>> = {
  on: '亮灯',
  dim: '调光',
  voltage: '电压',
  current: '电流',
  power: '功率',
  pf: '功率因数',
  leakage: '漏电流',
  energy: '电能',
  circuit_on: '回路接通',
  circuit_voltage: '回路电压',
  circuit_current: '回路电流',
  cabinet_door_open: '控制箱门开',
  tilt: '倾角',
  open: '井盖开启',
  water_level: '井内水位',
  battery: '电量',
  gas_ch4: '井内甲烷',
  well_level: '前池水位',
  power_ok: '市电正常',
  flow: '流量',
  pump_n_running: 'n号泵运行',
  pump_n_current: 'n号泵电流',
  pump_n_fault: 'n号泵故障',
  depth: '积水深度',
  rain_mm_h: '降雨强度',
  pressure: '出口压力',
  ch4: '甲烷浓度',
  temp: '温度',
  valve_open: '阀门开启',
  cutoff_tripped: '切断阀动作',
  cathodic_mv: '阴极保护电位',
  pm10: 'PM10',
  pm25: 'PM2.5',
  tsp: '总悬浮颗粒物',
  noise: '噪声',
  wind_speed: '风速',
  humidity: '湿度',
  floor: '楼层',
  door_open: '门开',
  moving: '运行中',
  direction: '方向',
  speed: '速度',
  vibration: '振动',
  people: '有人',
  fault_code: '故障码',
};
