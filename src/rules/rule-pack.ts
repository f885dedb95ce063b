import type { RuleDefinition } from '../domain/index.js';
import type { ThresholdSettings } from './kinds/index.js';

type ThresholdRule = RuleDefinition & {
  kind: 'threshold';
  settings: ThresholdSettings & Record<string, unknown>;
};

/**
 * The default urban rule pack: one rule per facility type from
 * docs/domain.md, each citing its source. A city edits them in the database;
 * the full pack (multi-level, aggregates, groups, offline) is issue #4.
 */
export const defaultRulePack: readonly ThresholdRule[] = [
  {
    id: 'streetlight.leakage',
    version: 1,
    facilityType: 'streetlight',
    kind: 'threshold',
    severity: 'critical',
    title: '路灯漏电 Streetlight leakage current',
    description: 'Leakage current over 30 mA is an electrical safety hazard; clears under 25 mA.',
    source:
      'docs/domain.md streetlight: leakage > 30 mA (default), emergency made safe within 1 h (Hebei urban lighting rules)',
    settings: {
      raise: [{ metric: 'leakage', op: '>', value: 30 }],
      clear: [{ metric: 'leakage', op: '<', value: 25 }],
      forSeconds: 0,
    },
    enabled: true,
  },
  {
    id: 'manhole.displaced',
    version: 1,
    facilityType: 'manhole',
    kind: 'threshold',
    severity: 'critical',
    title: '井盖位移 Manhole cover displaced',
    description: 'Tilt over 10 degrees: the cover is lifted or displaced; clears under 5 degrees.',
    source:
      'docs/domain.md manhole: tilt > 10° (vendor practice), 窨井 safety (seed 004); fix within 6 h (Tianjin 2017)',
    settings: {
      raise: [{ metric: 'tilt', op: '>', value: 10 }],
      clear: [{ metric: 'tilt', op: '<', value: 5 }],
      forSeconds: 0,
    },
    enabled: true,
  },
  {
    id: 'pump_station.power_lost',
    version: 1,
    facilityType: 'pump_station',
    kind: 'threshold',
    severity: 'critical',
    title: '泵站市电中断 Pump station mains power lost',
    description: 'Mains power absent for 30 s.',
    source:
      'docs/domain.md pump station: mains power lost, critical (排水泵站设施安全运行, seeds 001, 003)',
    settings: { raise: [{ metric: 'power_ok', op: '==', value: false }], forSeconds: 30 },
    enabled: true,
  },
  {
    id: 'waterlogging.road_closed',
    version: 1,
    facilityType: 'waterlogging',
    kind: 'threshold',
    severity: 'major',
    title: '道路积水超25厘米 Ponding over 25 cm',
    description:
      'Water on the road at or over 25 cm: roads and underpasses closed; clears under 15 cm.',
    source:
      'docs/domain.md waterlogging: ≥ 25 cm major (Shanghai underpass signs, Shenyang road closures); seed 002: water to remain at most 30 min',
    settings: {
      raise: [{ metric: 'depth', op: '>=', value: 25 }],
      clear: [{ metric: 'depth', op: '<', value: 15 }],
      forSeconds: 0,
    },
    enabled: true,
  },
  {
    id: 'gas.level1',
    version: 1,
    facilityType: 'gas',
    kind: 'threshold',
    severity: 'major',
    title: '燃气浓度一级报警 Gas level-1 alarm',
    description: 'Methane at or over 20 %LEL held 30 s; clears under 10 %LEL.',
    source:
      'docs/domain.md gas: ≥ 20 %LEL held 30 s, level 1 (GB/T 50493-2019; GB 50838 alarm ≤ 20 %LEL)',
    settings: {
      raise: [{ metric: 'ch4', op: '>=', value: 20 }],
      clear: [{ metric: 'ch4', op: '<', value: 10 }],
      forSeconds: 30,
    },
    enabled: true,
  },
  {
    id: 'dust_noise.pm10',
    version: 1,
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
    enabled: true,
  },
  {
    id: 'elevator.trapped',
    version: 1,
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
    enabled: true,
  },
];
