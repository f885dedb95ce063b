import type { RuleDefinition } from '../domain/index.js';

/** Streetlight rules of the default pack (docs/rules.md), split out to keep files short. */

export type Rule = RuleDefinition & { settings: Record<string, unknown> };
export const rule = (r: Omit<Rule, 'version' | 'enabled'>): Rule => ({
  ...r,
  version: 1,
  enabled: true,
});

/**
 * The zone the pack is written in; `rulePackFor` puts the configured
 * CITY_TIMEZONE in its place (decision 0117).
 */
export const packTimeZone = 'Asia/Shanghai';

/** 湘潭市 (the demo city): dusk and dawn at its latitude and longitude, in the city's zone. */
export const cityLightingHours = { lat: 27.83, lon: 112.94, timeZone: packTimeZone } as const;

export const streetlightRules: readonly Rule[] = [
  // Streetlight (路灯)
  rule({
    id: 'streetlight.leakage',
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
  }),
  // A lighting cabinet's controller (集中控制器) reports the circuit fields, not the lamps.
  rule({
    id: 'streetlight.circuit_no_voltage',
    facilityType: 'streetlight',
    kind: 'event',
    severity: 'major',
    title: '路灯回路失压 Lighting circuit lost its supply',
    description:
      'Supply voltage at the lighting cabinet under 110 V (half the 220 V nominal) for 60 s: the whole circuit is without power; clears at 110 V or more.',
    source:
      'docs/domain.md streetlight: a whole circuit losing voltage or current, major; 110 V and 60 s are engineering defaults (GB/T 12325 allows −10 %, so only a lost supply falls this low)',
    settings: { when: [{ metric: 'circuit_voltage', op: '<', value: 110 }], forSeconds: 60 },
  }),
  rule({
    id: 'streetlight.circuit_no_current',
    facilityType: 'streetlight',
    kind: 'event',
    severity: 'major',
    title: '路灯回路无电流 Lighting circuit switched on but drawing no current',
    description:
      'Circuit switched on at the cabinet, supply present, but the circuit draws under 0.5 A (about one lamp) for 60 s: cable cut or stolen, or the circuit breaker open; clears when current flows or the circuit is switched off.',
    source:
      'docs/domain.md streetlight: a whole circuit losing voltage or current, major; 0.5 A and 60 s are engineering defaults; a lost supply is streetlight.circuit_no_voltage, not this',
    settings: {
      when: [
        { metric: 'circuit_on', op: '==', value: true },
        { metric: 'circuit_voltage', op: '>=', value: 110 },
        { metric: 'circuit_current', op: '<', value: 0.5 },
      ],
      forSeconds: 60,
    },
  }),
  rule({
    id: 'streetlight.cabinet_door_open',
    facilityType: 'streetlight',
    kind: 'event',
    severity: 'major',
    title: '路灯控制箱门打开 Lighting cabinet door opened',
    description:
      'The lighting cabinet door is open (tampering or theft unless a crew is on site); clears when it is closed.',
    source:
      'docs/domain.md streetlight: a cabinet door opened, major; immediate (engineering default)',
    settings: { when: [{ metric: 'cabinet_door_open', op: '==', value: true }], forSeconds: 0 },
  }),
  rule({
    id: 'streetlight.dark',
    facilityType: 'streetlight',
    kind: 'lamp-off',
    severity: 'minor',
    title: '路灯不亮 Dark lamp',
    description:
      'Lamp due on (dusk to dawn at the city) but drawing at most 0.05 A for 5 min; clears when it draws current or dawn comes.',
    source:
      'docs/domain.md streetlight: should be on but ≈ 0 A for 5 min, minor; ordinary fault fixed in 24 h (Hebei urban lighting rules); 0.05 A is a default',
    settings: { hours: cityLightingHours, darkCurrentA: 0.05, forSeconds: 300 },
  }),
  rule({
    id: 'streetlight.lit_in_daytime',
    facilityType: 'streetlight',
    kind: 'lamp-off',
    severity: 'warning',
    title: '路灯白天亮灯 Lamp lit in daytime',
    description: 'Lamp drawing current outside lighting hours for 30 min: energy waste.',
    source: 'docs/domain.md streetlight: lit in daytime, warning; 30 min is a default',
    settings: {
      hours: cityLightingHours,
      darkCurrentA: 0.05,
      forSeconds: 1800,
      mode: 'lit-in-daytime',
    },
  }),
  rule({
    id: 'streetlight.lighting_rate_road',
    facilityType: 'streetlight',
    kind: 'group-ratio',
    severity: 'major',
    title: '道路亮灯率低于目标 Road lighting rate below target',
    description:
      'Lamps lit ÷ lamps due on, per road, under 98 % for 15 min during lighting hours; roads under 200 lamps by dark-lamp count (≤ 99: 2, 100–149: 3, 150–199: 4).',
    source:
      'seed 002: 亮灯率不低于 98%; 建城〔2011〕257号 main roads ≥ 98 %; dark-lamp counts from Changsha’s assessment (docs/domain.md); 15 min default',
    settings: {
      groupBy: 'road',
      target: 0.98,
      forSeconds: 900,
      hours: cityLightingHours,
      darkCurrentA: 0.05,
      darkLampLimits: [
        { maxLamps: 99, maxDark: 2 },
        { maxLamps: 149, maxDark: 3 },
        { maxLamps: 199, maxDark: 4 },
      ],
      severity: 'major',
    },
  }),
  rule({
    id: 'streetlight.lighting_rate_district',
    facilityType: 'streetlight',
    kind: 'group-ratio',
    severity: 'major',
    title: '区域亮灯率低于目标 District lighting rate below target',
    description: 'Lighting rate of a district under 98 % for 15 min during lighting hours.',
    source: 'seed 002: 亮灯率不低于 98% (per district, docs/domain.md); 15 min default',
    settings: {
      groupBy: 'district',
      target: 0.98,
      forSeconds: 900,
      hours: cityLightingHours,
      darkCurrentA: 0.05,
      severity: 'major',
    },
  }),
  rule({
    id: 'streetlight.integrity',
    facilityType: 'streetlight',
    kind: 'integrity',
    severity: 'major',
    title: '路灯设施完好率低于目标 Streetlight integrity rate below target',
    description:
      'Lamps in good order ÷ lamps, per district, under 95 % for 15 min; a lamp is out of order while its dark-lamp or leakage alarm is open. Districts under 20 reporting lamps are not judged.',
    source:
      'seeds 001 and 003: 道路照明设施完好率达到95%以上 (docs/domain.md, facility integrity rate ≥ 95 %); 15 min and 20 lamps are defaults',
    settings: {
      facilityType: 'streetlight',
      groupBy: 'district',
      target: 0.95,
      faultRules: ['streetlight.dark', 'streetlight.leakage'],
      minDevices: 20,
      forSeconds: 900,
      severity: 'major',
    },
  }),
  rule({
    id: 'streetlight.not_dimmed',
    facilityType: 'streetlight',
    kind: 'lamp-off',
    severity: 'warning',
    title: '路灯未按时调光 Lamp not dimmed',
    description:
      'Lamp lit above 50 % output in the 00:00–05:00 dimming window for 30 min: energy waste; clears when dimmed, dark, or the window ends.',
    source:
      'docs/domain.md streetlight: “dark-sky zones (暗夜保护区, seed 002) and dimming windows are part of the schedule”; 00:00–05:00 at ≤ 50 % and 30 min are defaults (the simulated lamps dim to half after midnight)',
    settings: {
      hours: { ...cityLightingHours, dimming: { from: '00:00', to: '05:00', maxDim: 50 } },
      darkCurrentA: 0.05,
      forSeconds: 1800,
      mode: 'not-dimmed',
    },
  }),
  {
    // Off until a city names its dark-sky zones: enable it per district, grid, site or device.
    ...rule({
      id: 'streetlight.dark_sky_lit',
      facilityType: 'streetlight',
      kind: 'lamp-off',
      severity: 'warning',
      title: '暗夜保护区亮灯 Lamp lit in dark-sky hours',
      description:
        'Lamp of a dark-sky zone lit during its dark-sky hours (23:00–05:00) for 10 min. Disabled by default: enable it, and give streetlight.dark the same hours.darkSky, by override on each zone.',
      source:
        'seed 002 城市景观照明优化行动: 设置暗夜保护区 10 处以上; docs/domain.md streetlight schedule; 23:00–05:00 and 10 min are defaults',
      settings: {
        hours: { ...cityLightingHours, darkSky: { from: '23:00', to: '05:00' } },
        darkCurrentA: 0.05,
        forSeconds: 600,
        mode: 'dark-sky-lit',
      },
    }),
    enabled: false,
  },
];
