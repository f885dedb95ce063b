import { reactive } from 'vue';
import type { CommandSpec } from '@domain/commands.js';
import { severities, type CaseState, type Severity } from '@domain/catalog.js';
import {
  builtInCategories,
  categoryMajors,
  type Category,
  type CategoryMajor,
} from '@domain/classification.js';
import type { FacilityType } from '@domain/facilities.js';
import type { Area } from '@domain/grid.js';
import { get, type Role, type Transition } from './api.js';
import { isZh } from './i18n.js';
import type { ThresholdLine } from './stores/thresholds.js';

/**
 * Labels and lists of every page from one place: `GET /api/catalog` (issue
 * #13, item 2): the lists of src/domain and the city's rules and areas.
 */
export interface Label {
  readonly zh: string;
  readonly en: string;
}

export interface UiCatalog {
  readonly facilityTypes: readonly FacilityType[];
  readonly facilities: Readonly<Record<FacilityType, Label & { metrics: MetricLabel[] }>>;
  readonly severities: readonly Severity[];
  readonly severityLabels: Readonly<Record<Severity, Label>>;
  readonly caseStates: readonly CaseState[];
  readonly caseStateLabels: Readonly<Record<CaseState, Label>>;
  readonly commands: readonly CommandSpec[];
  readonly transitions: Readonly<Record<string, Transition>>;
  /** Rule limits per metric as a chart draws them; null: read them from GET /api/rules. */
  readonly thresholds: readonly ThresholdLine[] | null;
  readonly kpiTargets: Readonly<Record<string, KpiTargetLabel>>;
  readonly districts: readonly { code: string; name: string }[];
  /** GB/T 30428.2 部件/事件 classes (issue #16), the city's overrides applied. */
  readonly majors: readonly CategoryMajor[];
  readonly categories: readonly Category[];
  /** Roles in domain order with their labels (src/domain/catalog.ts). */
  readonly roles: readonly Role[];
  readonly roleLabels: Readonly<Record<Role, Label>>;
  readonly areaLevels: readonly { id: string; label: Label }[];
  /** The city's area network, district → grid (admin pickers; validation of area codes). */
  readonly areas: readonly Area[];
}

export interface KpiTargetLabel {
  readonly value: number;
  readonly direction: 'min' | 'max';
  readonly label?: Label;
}

export interface MetricLabel {
  readonly name: string;
  readonly unit: string;
  readonly zh: string;
  readonly en: string;
}

/**
 * GET /api/catalog as docs/api.md ("Catalog") gives it: lists of `{id, label}`
 * with their attributes. Converted once into the lookups the pages use.
 */
interface ServedCatalog {
  readonly severities: readonly { id: Severity; label: Label }[];
  readonly caseStates: readonly { id: CaseState; label: Label }[];
  readonly caseActions: readonly {
    id: string;
    label: Label;
    from: readonly CaseState[];
    to: CaseState | null;
    roles: readonly Transition['roles'][number][];
    requires: Transition['requires'] | null;
  }[];
  readonly facilityTypes: readonly {
    id: FacilityType;
    label: Label;
    metrics: readonly { name: string; unit: string | null; label: Label }[];
    commands: readonly { name: string; args: Record<string, unknown> }[];
  }[];
  readonly kpiTargets?: Readonly<Record<string, KpiTargetLabel>>;
  readonly thresholds?: readonly ThresholdLine[];
  readonly areas?: readonly Area[];
  readonly roles?: readonly { id: Role; label: Label }[];
  readonly areaLevels?: readonly { id: string; label: Label }[];
  readonly classification?: {
    readonly majors: readonly CategoryMajor[];
    readonly categories: readonly Category[];
  };
}

export function fromServed(c: ServedCatalog): UiCatalog {
  const byId = <T extends { id: string }, V>(list: readonly T[], f: (x: T) => V) =>
    Object.fromEntries(list.map((x) => [x.id, f(x)]));
  return {
    facilityTypes: c.facilityTypes.map((f) => f.id),
    facilities: byId(c.facilityTypes, (f) => ({
      ...f.label,
      metrics: f.metrics.map((m) => ({ name: m.name, unit: m.unit ?? '', ...m.label })),
    })) as UiCatalog['facilities'],
    severities: c.severities.map((s) => s.id),
    severityLabels: byId(c.severities, (s) => s.label) as UiCatalog['severityLabels'],
    caseStates: c.caseStates.map((s) => s.id),
    caseStateLabels: byId(c.caseStates, (s) => s.label) as UiCatalog['caseStateLabels'],
    commands: c.facilityTypes.flatMap((f) =>
      f.commands.map((cmd) => ({ type: f.id, name: cmd.name, args: cmd.args })),
    ),
    transitions: byId(c.caseActions, (a) => ({
      from: a.from,
      to: a.to,
      roles: a.roles,
      ...(a.requires ? { requires: a.requires } : {}),
      zh: a.label.zh,
      en: a.label.en,
    })),
    thresholds: c.thresholds ?? null,
    kpiTargets: c.kpiTargets ?? {},
    districts: (c.areas ?? [])
      .filter((a) => a.level === 'district')
      .map((a) => ({ code: a.code, name: a.name })),
    // A hub without the classification in its catalog: the built-in table stands in.
    majors: c.classification?.majors ?? categoryMajors,
    categories: c.classification?.categories ?? builtInCategories,
    roles: (c.roles ?? []).map((r) => r.id),
    roleLabels: byId(c.roles ?? [], (r) => r.label) as UiCatalog['roleLabels'],
    areaLevels: c.areaLevels ?? [],
    areas: c.areas ?? [],
  };
}

export type { Area };

export const catalog = reactive<{ value: UiCatalog | null }>({ value: null });

/** Loads the catalog once after login; the route wins, the build-time lists stand in. */
export async function loadCatalog(): Promise<UiCatalog> {
  if (catalog.value) return catalog.value;
  const value = fromServed(await get<ServedCatalog>('/api/catalog'));
  catalog.value = value;
  return value;
}

function pick(l: Label | undefined, key: string): string {
  if (!l) return key;
  return isZh() ? l.zh : l.en;
}

export const labels = {
  type: (t: string | null | undefined) =>
    t ? pick(catalog.value?.facilities[t as FacilityType], t) : '—',
  severity: (s: string) => pick(catalog.value?.severityLabels[s as Severity], s),
  state: (s: string) => pick(catalog.value?.caseStateLabels[s as CaseState], s),
  action: (a: string) => {
    const t = catalog.value?.transitions[a];
    return t ? (isZh() ? t.zh : (t.en ?? a)) : a;
  },
  metric: (m: MetricLabel) => (isZh() ? m.zh : m.en),
  category: (code: string | null | undefined) => {
    if (!code) return '—';
    const c = catalog.value?.categories.find((x) => x.code === code);
    return c ? `${pick(c.label, code)} (${code})` : code;
  },
  /** Any {zh, en} label of src/domain in the page's language. */
  of: (l: Label | null | undefined, fallback = '—') => pick(l ?? undefined, fallback),
  role: (r: string) => pick(catalog.value?.roleLabels[r as Role], r),
  areaLevel: (l: string) => pick(catalog.value?.areaLevels.find((a) => a.id === l)?.label, l),
  unit: (type: string, metric: string) =>
    catalog.value?.facilities[type as FacilityType]?.metrics.find((m) => m.name === metric)?.unit ??
    '',
};

/** A KPI's name in the page's language, from its catalog target. */
export const kpiLabel = (name: string): string =>
  pick(catalog.value?.kpiTargets[name]?.label, name);

/** Severity rank: 0 most urgent (domain order), larger less. */
export const severityRank = (s: string): number => {
  const i = (severities as readonly string[]).indexOf(s);
  return i < 0 ? severities.length : i;
};
