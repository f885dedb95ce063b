/**
 * The default urban rule pack: every alarm of docs/domain.md for the seven
 * facility types, each citing its source (seed, standard, municipal rule, or
 * "default" for an engineering default). A city edits them in the database
 * (REST /api/rules) and overrides them per district, grid or device.
 * Table with sources: docs/rules.md.
 */

import type { ElevatorFaultCode } from '../domain/index.js';
import { packTimeZone, rule, streetlightRules, type Rule } from './rule-pack-streetlight.js';

export { cityLightingHours } from './rule-pack-streetlight.js';

/** GB 12523-2011: day 06:00–22:00, night 22:00–06:00, local time. */
const gb12523 = { dayStartHour: 6, dayEndHour: 22, timeZone: packTimeZone } as const;

/** Event settings: the car reports any of these `fault_code`s (docs/mqtt.md vocabulary). */
const faultCodes = (...codes: ElevatorFaultCode[]) => ({
  when: codes.map((value) => ({ metric: 'fault_code', op: '==', value })),
  match: 'any',
  forSeconds: 0,
});

export const defaultRulePack: readonly Rule[] = [
  ...streetlightRules,
  // Manhole cover (井盖)
  rule({
    id: 'manhole.displaced',
    facilityType: 'manhole',
    kind: 'event',
    severity: 'critical',
    title: '井盖位移 Manhole cover displaced',
    description:
      'Cover open or flipped, or tilted over 10°: displaced, immediate; clears when closed and level again.',
    source:
      'docs/domain.md manhole: open/flip or tilt > 10° (vendor practice), 窨井 safety (seed 004); fix within 6 h (Tianjin 2017)',
    settings: {
      when: [
        { metric: 'open', op: '==', value: true },
        { metric: 'tilt', op: '>', value: 10 },
      ],
      match: 'any',
      forSeconds: 0,
    },
  }),
  rule({
    id: 'manhole.tilted',
    facilityType: 'manhole',
    kind: 'threshold',
    severity: 'minor',
    title: '井盖倾斜 Manhole cover tilted',
    description:
      'Tilt between 5° and 10°; clears under 4° (hysteresis) or when the displaced rule takes over above 10°.',
    source: 'docs/domain.md manhole: tilt 5–10° minor; 4° clear band is a default',
    settings: {
      raise: [
        { metric: 'tilt', op: '>', value: 5 },
        { metric: 'tilt', op: '<=', value: 10 },
      ],
      clear: [
        { metric: 'tilt', op: '<', value: 4 },
        { metric: 'tilt', op: '>', value: 10 },
      ],
      forSeconds: 0,
    },
  }),
  rule({
    id: 'manhole.overflow_risk',
    facilityType: 'manhole',
    kind: 'threshold',
    severity: 'major',
    title: '井内水位过高 Water near the cover',
    description: 'Water within 30 cm of the cover; clears when 40 cm below it again.',
    source: 'docs/domain.md manhole: water within 30 cm of the cover (default), major',
    settings: {
      raise: [{ metric: 'water_level', op: '<', value: 30 }],
      clear: [{ metric: 'water_level', op: '>', value: 40 }],
      forSeconds: 0,
    },
  }),
  rule({
    id: 'manhole.battery_low',
    facilityType: 'manhole',
    kind: 'threshold',
    severity: 'minor',
    title: '井盖传感器电量低 Sensor battery low',
    description: 'Battery under 20 %; clears over 25 %.',
    source: 'docs/domain.md manhole: battery < 20 %, maintenance, minor',
    settings: {
      raise: [{ metric: 'battery', op: '<', value: 20 }],
      clear: [{ metric: 'battery', op: '>', value: 25 }],
      forSeconds: 0,
    },
  }),
  // Drainage pump station (排水泵站)
  rule({
    id: 'pump_station.power_lost',
    facilityType: 'pump_station',
    kind: 'threshold',
    severity: 'critical',
    title: '泵站市电中断 Pump station mains power lost',
    description: 'Mains power absent for 30 s.',
    source:
      'docs/domain.md pump station: mains power lost, critical (排水泵站设施安全运行, seeds 001, 003); 30 s default',
    settings: { raise: [{ metric: 'power_ok', op: '==', value: false }], forSeconds: 30 },
  }),
  rule({
    id: 'pump_station.pump_fault',
    facilityType: 'pump_station',
    kind: 'event',
    severity: 'major',
    title: '水泵故障 Pump fault',
    description: 'Any pump reports a fault.',
    source: 'docs/domain.md pump station: pump fault, major',
    settings: { when: [{ metric: 'pump_{n}_fault', op: '==', value: true }], forSeconds: 0 },
  }),
  rule({
    id: 'pump_station.no_current',
    facilityType: 'pump_station',
    kind: 'event',
    severity: 'major',
    title: '水泵指令运行但无电流 Pump commanded but drawing no current',
    description: 'A pump commanded to run draws under 1 A for 60 s.',
    source:
      'docs/domain.md pump station: commanded to run but current ≈ 0, major; 1 A and 60 s are defaults',
    settings: {
      when: [
        { metric: 'pump_{n}_running', op: '==', value: true },
        { metric: 'pump_{n}_current', op: '<', value: 1 },
      ],
      forSeconds: 60,
    },
  }),
  rule({
    id: 'pump_station.level_no_outflow',
    facilityType: 'pump_station',
    kind: 'threshold',
    severity: 'critical',
    title: '泵站高水位无排水 Well above start level, nothing pumping',
    description:
      'Well level at or over the start level (2.0 m; override per station) with outflow under 1 m³/h for 5 min.',
    source:
      'docs/domain.md pump station: above start level with no pump running for 5 min, critical; no outflow stands for no pump running; 2.0 m is a default',
    settings: {
      raise: [
        { metric: 'well_level', op: '>=', value: 2 },
        { metric: 'flow', op: '<', value: 1 },
      ],
      forSeconds: 300,
    },
  }),
  // Waterlogging point (积水点)
  rule({
    id: 'waterlogging.depth',
    facilityType: 'waterlogging',
    kind: 'levels',
    severity: 'warning',
    title: '道路积水 Water on the road',
    description:
      'One alarm whose severity follows the depth: ≥ 15 cm warning, ≥ 25 cm major (roads closed), ≥ 40 cm critical; steps down 5 cm under each level, clears under 10 cm.',
    source:
      'docs/domain.md waterlogging: 15 cm (GB 51222 one lane passable), 25 cm (Shanghai underpass signs, Shenyang closures), 40 cm; seed 002: standing water at most 30 min; 5 cm bands default',
    settings: {
      metric: 'depth',
      op: '>=',
      levels: [
        { severity: 'warning', value: 15, clear: 10 },
        { severity: 'major', value: 25, clear: 20 },
        { severity: 'critical', value: 40, clear: 35 },
      ],
      forSeconds: 0,
    },
  }),
  rule({
    id: 'waterlogging.rising',
    facilityType: 'waterlogging',
    kind: 'rate',
    severity: 'warning',
    title: '积水快速上涨 Water rising fast',
    description:
      'Depth up more than 5 cm within 10 min: early warning; clears when the rise is ≤ 1 cm.',
    source: 'docs/domain.md waterlogging: rising faster than 5 cm / 10 min, early warning',
    settings: { metric: 'depth', rise: 5, clearRise: 1, windowS: 600 },
  }),
  // Gas (燃气)
  rule({
    id: 'gas.ch4',
    facilityType: 'gas',
    kind: 'levels',
    severity: 'major',
    title: '燃气浓度报警 Gas concentration alarm',
    description:
      '≥ 20 %LEL held 30 s: level 1, major; ≥ 50 %LEL, or still rising (up 5 %LEL or more within 2 min while at level 1): level 2, critical (close the valve, dispatch); clears under 10 %LEL.',
    source:
      'docs/domain.md gas: “≥ 20 %LEL held 30 s: level-1 alarm, major; ≥ 50 %LEL or still rising: level-2, critical”; GB/T 50493-2019 level 1 ≤ 25 %LEL, level 2 ≤ 50 %LEL; GB 50838 alarm ≤ 20 %LEL; 30 s hold, 10 %LEL clear, 5 %LEL / 2 min rise are defaults',
    settings: {
      metric: 'ch4',
      op: '>=',
      levels: [
        { severity: 'major', value: 20, clear: 10 },
        { severity: 'critical', value: 50, clear: 40 },
      ],
      forSeconds: 30,
      rising: { rise: 5, windowS: 120, level: 1 },
    },
  }),
  rule({
    id: 'gas.pressure',
    facilityType: 'gas',
    kind: 'event',
    severity: 'major',
    title: '调压器出口压力异常 Regulator outlet pressure out of band',
    description:
      'Outlet pressure outside ±10 % of the 3.0 kPa set point for 2 min (override per regulator with its set point).',
    source: 'docs/domain.md gas: outside ±10 % of set point for 2 min, major (default)',
    settings: {
      when: [
        { metric: 'pressure', op: '>', value: 3.3 },
        { metric: 'pressure', op: '<', value: 2.7 },
      ],
      match: 'any',
      forSeconds: 120,
    },
  }),
  rule({
    id: 'gas.cutoff',
    facilityType: 'gas',
    kind: 'event',
    severity: 'critical',
    title: '调压器超压切断 Regulator over-pressure cut-off tripped',
    description:
      'The regulator’s over-pressure slam-shut valve (切断阀) has closed: downstream users are without gas until a crew finds the cause and resets it; clears when reset.',
    source: 'docs/domain.md gas: over-pressure cut-off, critical; immediate (engineering default)',
    settings: { when: [{ metric: 'cutoff_tripped', op: '==', value: true }], forSeconds: 0 },
  }),
  // Dust and noise (扬尘/噪声)
  rule({
    id: 'dust_noise.pm10',
    facilityType: 'dust_noise',
    kind: 'threshold',
    severity: 'major',
    title: '扬尘PM10超标 Construction dust over limit',
    description:
      'PM10 over 200 µg/m³ held 15 min: work stops until PM10 is back under 150 µg/m³ (the clear condition).',
    source:
      'docs/domain.md dust: Wuhan practice, > 200 µg/m³ major, clear under 150; seed 002 无尘无噪 sites',
    settings: {
      raise: [{ metric: 'pm10', op: '>', value: 200 }],
      clear: [{ metric: 'pm10', op: '<', value: 150 }],
      forSeconds: 900,
    },
  }),
  rule({
    id: 'dust_noise.pm10_hourly',
    facilityType: 'dust_noise',
    kind: 'aggregate',
    severity: 'warning',
    title: '扬尘PM10小时均值超标 PM10 hourly mean over limit',
    description:
      'Hourly mean PM10 over 150 µg/m³, judged only with at least 75 % of the hour’s readings (per-site limits by override).',
    source:
      'docs/domain.md dust: Wuhan practice, hourly mean > 150 µg/m³ warning; suppressed under 75 % data validity',
    settings: {
      metric: 'pm10',
      fn: 'mean',
      windowS: 3600,
      expectedIntervalS: 60,
      minValidity: 0.75,
      levels: [{ severity: 'warning', value: 150 }],
    },
  }),
  rule({
    id: 'dust_noise.noise',
    facilityType: 'dust_noise',
    kind: 'aggregate',
    severity: 'major',
    title: '施工噪声超标 Construction noise over limit',
    description:
      'Leq over 10 min above 70 dB(A) by day (06–22) or 55 dB(A) at night at the site boundary.',
    source: 'GB 12523-2011 (docs/domain.md noise): day 70, night 55 dB(A); Leq 10 min default',
    settings: {
      metric: 'noise',
      fn: 'leq',
      windowS: 600,
      expectedIntervalS: 60,
      minValidity: 0.75,
      levels: [{ severity: 'major', value: 70 }],
      schedule: { ...gb12523, nightLevels: [{ severity: 'major', value: 55 }] },
    },
  }),
  rule({
    id: 'dust_noise.noise_night_max',
    facilityType: 'dust_noise',
    kind: 'aggregate',
    severity: 'major',
    title: '夜间施工噪声最大声级超标 Night noise maximum over limit',
    description:
      'At night (22–06) a reading over 70 dB(A), the night limit 55 plus 15, at the site boundary; clears 10 min after the last such reading or at 06:00.',
    source:
      'GB 12523-2011 (docs/domain.md noise): night maximum ≤ limit + 15 dB(A); 10 min window default',
    settings: {
      metric: 'noise',
      fn: 'max',
      windowS: 600,
      expectedIntervalS: 60,
      minValidity: 0,
      levels: [],
      schedule: { ...gb12523, nightLevels: [{ severity: 'major', value: 70 }] },
    },
  }),
  // Elevator (电梯)
  rule({
    id: 'elevator.trapped',
    facilityType: 'elevator',
    kind: 'threshold',
    severity: 'critical',
    title: '电梯困人 Passengers trapped',
    description:
      'Car occupied, doors closed and not moving for 2 min: passengers trapped; rescue within 30 min in the urban area.',
    source:
      'docs/domain.md elevator: trapped passengers critical, rescue 30 min (TSG T5002); 2 min is an engineering default',
    settings: {
      raise: [
        { metric: 'people', op: '==', value: true },
        { metric: 'door_open', op: '==', value: false },
        { metric: 'moving', op: '==', value: false },
      ],
      forSeconds: 120,
    },
  }),
  rule({
    id: 'elevator.door_open_moving',
    facilityType: 'elevator',
    kind: 'event',
    severity: 'critical',
    title: '电梯运行中开门 Moving with doors open',
    description: 'Car moving with the doors open: out of service at once.',
    source: 'docs/domain.md elevator: moving with doors open, critical (GB/T 24476 events)',
    settings: {
      when: [
        { metric: 'door_open', op: '==', value: true },
        { metric: 'moving', op: '==', value: true },
      ],
      forSeconds: 0,
    },
  }),
  rule({
    id: 'elevator.stop_outside_door_zone',
    facilityType: 'elevator',
    kind: 'event',
    severity: 'critical',
    title: '电梯门区外停梯 Stopped outside the door zone',
    description:
      'The controller reports the car stopped outside the door zone (fault_code stop_outside_door_zone): out of service, passengers cannot step out; clears on any other code.',
    source:
      'docs/domain.md elevator: stop outside the door zone (门区外停梯), GB/T 24476 events; critical like overrun (engineering choice: passengers cannot leave the car)',
    settings: faultCodes('stop_outside_door_zone'),
  }),
  rule({
    id: 'elevator.overspeed',
    facilityType: 'elevator',
    kind: 'event',
    severity: 'critical',
    title: '电梯超速 Car over-speed',
    description:
      'fault_code overspeed, or the car faster than 2.0 m/s (115 % of a 1.75 m/s rated speed; a car with another rated speed gets a device override of `when`): out of service; clears when neither holds.',
    source:
      'docs/domain.md elevator: over-speed, critical, out of service (GB/T 24476 events); 115 % of rated speed is the GB 7588 overspeed governor trip; 1.75 m/s rated speed is an engineering default (the demo cars)',
    settings: {
      when: [
        { metric: 'fault_code', op: '==', value: 'overspeed' },
        { metric: 'speed', op: '>', value: 2.0 },
      ],
      match: 'any',
      forSeconds: 0,
    },
  }),
  rule({
    id: 'elevator.overrun',
    facilityType: 'elevator',
    kind: 'event',
    severity: 'critical',
    title: '电梯冲顶/蹲底 Top or bottom overrun',
    description:
      'fault_code top_overrun (冲顶) or bottom_overrun (蹲底): out of service; clears on any other code.',
    source:
      'docs/domain.md elevator: top/bottom overrun (冲顶/蹲底), critical, out of service (GB/T 24476 events)',
    settings: faultCodes('top_overrun', 'bottom_overrun'),
  }),
  rule({
    id: 'elevator.door_fault',
    facilityType: 'elevator',
    kind: 'event',
    severity: 'major',
    title: '电梯门故障 Door fault or repeated reopening',
    description:
      'fault_code door_fault (door or door-lock fault) or door_reopen_repeated (反复开关门); clears on any other code.',
    source:
      'docs/domain.md elevator: repeated door reopening (GB/T 24476 events); door faults major (seed 002 inspection list)',
    settings: faultCodes('door_fault', 'door_reopen_repeated'),
  }),
  rule({
    id: 'elevator.vibration',
    facilityType: 'elevator',
    kind: 'threshold',
    severity: 'major',
    title: '电梯异常抖动 Abnormal car shaking',
    description:
      'Car vibration over 0.6 m/s² held 1 min (two readings), twice the GB/T 10058 ride-quality peak of 0.30 m/s²; clears under 0.4 m/s².',
    source:
      'docs/domain.md elevator: abnormal noise/shaking, major (seed 002 inspection list); GB/T 10058 vertical vibration ≤ 0.30 m/s²; 0.6, 0.4 m/s² and 1 min are engineering defaults',
    settings: {
      raise: [{ metric: 'vibration', op: '>', value: 0.6 }],
      clear: [{ metric: 'vibration', op: '<', value: 0.4 }],
      forSeconds: 60,
    },
  }),
  // Every type
  rule({
    id: 'all.offline',
    facilityType: 'all',
    kind: 'offline',
    severity: 'minor',
    title: '设备离线 Devices offline',
    description:
      'No message for 3 × the reporting interval: minor per device; 80 % of a street or grid (at least 5 devices) silent at once: one major alarm for the area.',
    source:
      'docs/domain.md all types: offline after 3 × interval minor, whole grid or street major (power or network outage); 80 %, 5 devices and the 15-min correlation wait are defaults',
    settings: {
      factor: 3,
      areaMinDevices: 5,
      areaRatio: 0.8,
      correlationS: 900,
      deviceSeverity: 'minor',
      areaSeverity: 'major',
    },
  }),
  rule({
    id: 'all.mqtt_rate_abuse',
    facilityType: 'all',
    kind: 'mqtt-rate-abuse',
    severity: 'warning',
    title: '上报频率异常 Device publishing over its rate',
    description:
      'At least 100 publishes a minute of one device came over its rate (its token bucket, MQTT_RATE_PER_S: held back, or refused when it was cut off) for 10 minutes in a row; clears after 5 minutes within its rate. Alarm only: no case.',
    source:
      'issue #6: per-device publish rate, a warning alarm after sustained abuse; issue #17: excess slowed, not dropped, so a sensor emptying its buffer (2,000 readings: about 3 minutes at 10/s) raises nothing; 10 minutes = MQTT_RATE_HOLD_MAX_S default, 100/min and 5 minutes are defaults',
    settings: { dropsPerMinute: 100, forMinutes: 10, clearAfterMinutes: 5 },
  }),
  rule({
    id: 'all.storage_degraded',
    facilityType: 'all',
    kind: 'storage-degraded',
    severity: 'major',
    title: '数据存储降级 Storage degraded',
    description:
      'A hub node has kept readings in its disk spool (the database refuses or does not answer) or holds refused data in its quarantine for 60 s; clears after 60 s of healthy storage. Alarm only: no case (an IT matter, not a field one).',
    source:
      'issue 11: health reports degraded while storage is spooling or stalled, and an alarm says so; 60 s and 60 s are defaults (a database restart of a few seconds raises nothing)',
    settings: { forSeconds: 60, clearAfterSeconds: 60 },
  }),
];

/**
 * The pack in the city's time zone (CITY_TIMEZONE): every schedule's
 * `timeZone` set to it, so the lighting hours, dimming and dark-sky windows
 * and the GB 12523 day and night follow the city's clock, daylight saving
 * included.
 */
export function rulePackFor(timeZone: string): readonly Rule[] {
  if (timeZone === packTimeZone) return defaultRulePack;
  const inZone = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(inZone);
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, k === 'timeZone' ? timeZone : inZone(v)]),
    );
  };
  return defaultRulePack.map((r) => ({ ...r, settings: inZone(r.settings) as Rule['settings'] }));
}
