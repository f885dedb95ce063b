/**
 * The national classification of city-management cases (issue #16, item 1):
 * 部件 (components: facilities in public space) and 事件 (events: conditions
 * and behaviour), GB/T 30428.2 数字化城市管理信息系统 第2部分 管理部件和事件,
 * which took over CJ/T 214-2007. A class code there is 大类 (2 digits) +
 * 小类 (2 digits); both lists number from 01, so the hub prefixes `B` (部件)
 * or `S` (事件): `B0101` is 上水井盖, `S0406` 道路积水.
 *
 * Sourcing (docs/domain.md, "Classification"): the major classes are sourced;
 * the small-class numbers are given as the hub's best reading of CJ/T 214-2007
 * and marked `verified: false` where no public text at hand confirms the
 * exact number. `B06xx` codes from 90 up are the hub's own extension classes
 * (the standard lets a city extend its lists, 扩展部件). Admins override labels
 * and add classes in the database (`case_categories`, PUT /api/categories/:code);
 * the built-in table stays the default.
 */
import type { FacilityType } from './facilities.js';
import { caseKindOf, type Label } from './catalog.js';

export const caseKinds = ['component', 'event'] as const;
export type CaseKind = (typeof caseKinds)[number];

export const caseKindLabels: Readonly<Record<CaseKind, Label>> = {
  component: { zh: '部件', en: 'Component' },
  event: { zh: '事件', en: 'Event' },
};

/** A category code: B or S, 大类, 小类 (`B0101`); a major class alone is B or S and 2 digits. */
export const categoryCodePattern = '^[BS]\\d{4}$';
/** A class or a major class, for filters (`B01` matches every 公用设施 class). */
export const categoryFilterPattern = '^[BS]\\d{2}(\\d{2})?$';

export interface CategoryMajor {
  /** `B01` … `S06`. */
  readonly code: string;
  readonly kind: CaseKind;
  readonly label: Label;
}

export interface Category {
  readonly code: string;
  readonly kind: CaseKind;
  /** The major class (`B01`). */
  readonly majorCode: string;
  readonly label: Label;
  /** Whether the code is confirmed by a source at hand (docs/domain.md); false: the hub's reading. */
  readonly verified: boolean;
  /** Offered to citizens on the public page. */
  readonly public: boolean;
}

/** Major classes (大类) of GB/T 30428.2 / CJ/T 214-2007. */
export const categoryMajors: readonly CategoryMajor[] = [
  { code: 'B01', kind: 'component', label: { zh: '公用设施', en: 'Public utilities' } },
  { code: 'B02', kind: 'component', label: { zh: '道路交通', en: 'Roads and traffic' } },
  { code: 'B03', kind: 'component', label: { zh: '市容环境', en: 'Cityscape and sanitation' } },
  { code: 'B04', kind: 'component', label: { zh: '园林绿化', en: 'Parks and greenery' } },
  { code: 'B05', kind: 'component', label: { zh: '房屋土地', en: 'Buildings and land' } },
  { code: 'B06', kind: 'component', label: { zh: '其他设施', en: 'Other facilities' } },
  { code: 'S01', kind: 'event', label: { zh: '市容环境', en: 'Cityscape and sanitation' } },
  { code: 'S02', kind: 'event', label: { zh: '宣传广告', en: 'Advertising' } },
  { code: 'S03', kind: 'event', label: { zh: '施工管理', en: 'Construction' } },
  { code: 'S04', kind: 'event', label: { zh: '突发事件', en: 'Emergencies' } },
  { code: 'S05', kind: 'event', label: { zh: '街面秩序', en: 'Street order' } },
  { code: 'S06', kind: 'event', label: { zh: '其他事件', en: 'Other events' } },
];

const c = (code: string, zh: string, en: string, verified = false, pub = true): Category => ({
  code,
  kind: code.startsWith('B') ? 'component' : 'event',
  majorCode: code.slice(0, 3),
  label: { zh, en },
  verified,
  public: pub,
});

/**
 * Small classes (小类) relevant to the hub's facilities and the common
 * reports of a grid officer or a citizen; not the standard's whole list.
 */
export const builtInCategories: readonly Category[] = [
  // 公用设施
  c('B0101', '上水井盖', 'Water-supply manhole cover', true),
  c('B0102', '污水井盖', 'Sewer manhole cover'),
  c('B0103', '雨水井盖', 'Storm-drain manhole cover'),
  c('B0104', '雨水箅子', 'Storm-drain grate'),
  c('B0105', '电力井盖', 'Power manhole cover'),
  c('B0106', '路灯井盖', 'Street-lighting manhole cover'),
  c('B0107', '通信井盖', 'Telecom manhole cover'),
  c('B0110', '热力井盖', 'District-heating manhole cover'),
  c('B0111', '燃气井盖', 'Gas manhole cover'),
  c('B0113', '无主井盖', 'Manhole cover of unknown owner'),
  c('B0116', '消防栓', 'Fire hydrant'),
  c('B0120', '燃气调压设施', 'Gas pressure regulator', false, false),
  c('B0121', '泵站', 'Pump station', false, false),
  c('B0125', '路灯', 'Streetlight'),
  c('B0127', '景观灯', 'Decorative light'),
  // 道路交通
  c('B0210', '交通标志牌', 'Traffic sign'),
  c('B0211', '交通信号灯', 'Traffic light'),
  c('B0212', '交通护栏', 'Traffic barrier'),
  c('B0215', '路名牌', 'Street-name sign'),
  // 市容环境
  c('B0301', '公共厕所', 'Public toilet'),
  c('B0305', '垃圾箱', 'Litter bin'),
  // 园林绿化
  c('B0403', '行道树', 'Street tree'),
  c('B0404', '绿地', 'Green space'),
  // 其他设施: the hub's extension classes (扩展部件) for what the standard does not list.
  c('B0690', '积水监测点', 'Waterlogging monitoring point', true, false),
  c('B0691', '工地扬尘噪声监测点', 'Site dust and noise monitor', true, false),
  c('B0692', '电梯', 'Elevator', true, false),
  c('B0699', '其他部件', 'Other component', true),
  // 事件: 市容环境
  c('S0101', '私搭乱建', 'Illegal structure'),
  c('S0102', '暴露垃圾', 'Exposed rubbish'),
  c('S0103', '积存垃圾渣土', 'Accumulated rubbish and muck'),
  c('S0104', '道路不洁', 'Dirty road'),
  c('S0106', '绿地脏乱', 'Untidy green space'),
  // 宣传广告
  c('S0201', '非法小广告', 'Illegal small adverts'),
  c('S0203', '违规户外广告', 'Unauthorised outdoor advert'),
  // 施工管理
  c('S0301', '施工扰民', 'Construction noise nuisance'),
  c('S0302', '工地扬尘', 'Construction-site dust'),
  c('S0303', '道路遗撒', 'Spillage on the road'),
  c('S0305', '占道施工', 'Road works blocking the way'),
  // 突发事件
  c('S0401', '路面塌陷', 'Road collapse'),
  c('S0402', '自来水管破裂', 'Burst water main'),
  c('S0403', '燃气管道破裂', 'Gas pipe rupture'),
  c('S0404', '下水道堵塞或破损', 'Blocked or broken sewer'),
  c('S0406', '道路积水', 'Ponding on the road'),
  c('S0409', '电梯困人', 'Passengers trapped in an elevator', true, false),
  // 街面秩序
  c('S0501', '无照经营游商', 'Unlicensed street vending'),
  c('S0502', '占道经营', 'Trading on the pavement'),
  c('S0505', '机动车乱停放', 'Illegally parked vehicle'),
  c('S0506', '非机动车乱停放', 'Illegally parked bicycle'),
  c('S0601', '其他事件', 'Other'),
];

/**
 * The 部件 class of each facility type: what a device of that type is. A
 * facility type whose alarms are conditions (eventFacilityTypes) also has
 * the 事件 class its alarm cases take (`alarmCategoryOf`).
 */
export const facilityCategories: Readonly<Record<FacilityType, string>> = {
  streetlight: 'B0125',
  manhole: 'B0102',
  pump_station: 'B0121',
  waterlogging: 'B0690',
  gas: 'B0120',
  dust_noise: 'B0691',
  elevator: 'B0692',
};

/** The 事件 class of an alarm on a facility type whose alarms are conditions. */
export const facilityEventCategories: Readonly<Partial<Record<FacilityType, string>>> = {
  waterlogging: 'S0406',
  dust_noise: 'S0302',
  gas: 'S0403',
};

/** The "other" class of a kind: a case with no facility type and no category given. */
export const otherCategory: Readonly<Record<CaseKind, string>> = {
  component: 'B0699',
  event: 'S0601',
};

/**
 * The category an alarm case of a facility type takes: its 事件 class for an
 * event case, else its 部件 class; an area alarm (`all`, none) takes "other".
 */
export function alarmCategoryOf(type: FacilityType | 'all' | null, kind: CaseKind): string {
  if (type === null || type === 'all') return otherCategory[kind];
  if (kind === 'event') return facilityEventCategories[type] ?? facilityCategories[type];
  return facilityCategories[type];
}

/** The category of a case entered by hand: as given, else its facility type's. */
export function manualCategoryOf(
  given: string | null | undefined,
  type: FacilityType | null,
  kind: CaseKind,
): string {
  return given ?? alarmCategoryOf(type, kind);
}

/** The category a new case takes: given, else its facility type's (alarm or manual alike). */
export function categoryOfNewCase(c: {
  readonly facilityType: string | null;
  readonly kind?: CaseKind;
  readonly categoryCode?: string | null;
}): string {
  const type = c.facilityType as FacilityType | 'all' | null;
  return c.categoryCode ?? alarmCategoryOf(type, c.kind ?? caseKindOf(type));
}

export function kindOfCategory(code: string): CaseKind {
  return code.startsWith('S') ? 'event' : 'component';
}

/** Built-in and overridden categories together: an override replaces a built-in label. */
export function mergeCategories(
  overrides: readonly Pick<Category, 'code' | 'label' | 'public'>[],
): Category[] {
  const byCode = new Map(builtInCategories.map((x) => [x.code, x]));
  for (const o of overrides) {
    const base = byCode.get(o.code);
    byCode.set(o.code, {
      ...(base ?? c(o.code, o.label.zh, o.label.en, true)),
      label: o.label,
      public: o.public,
    });
  }
  return [...byCode.values()].sort((a, b) => a.code.localeCompare(b.code));
}
