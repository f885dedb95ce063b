import { reactive } from 'vue';
import { commandCatalog, type CommandSpec } from '@domain/commands.js';
import { caseStates, severities, type CaseState, type Severity } from '@domain/events.js';
import { facilityCatalog, facilityTypes, type FacilityType } from '@domain/facilities.js';
import { ApiError, get, type Transition } from './api.js';
import { isZh } from './i18n.js';

/**
 * Labels and lists of every page from one place: `GET /api/catalog` (issue
 * #13, item 2). Until the hub serves it, the same lists are imported from
 * src/domain at build time (`fallbackCatalog`): one source either way.
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
}

export interface MetricLabel {
  readonly name: string;
  readonly unit: string;
  readonly description: string;
}

// Severity and case-state names as the old pages showed them (domain.md,
// "Alarms and cases"); they move to src/domain with the catalog route.
const severityZh: Record<Severity, string> = {
  critical: '紧急',
  major: '重要',
  minor: '次要',
  warning: '提示',
};
const stateZh: Record<CaseState, string> = {
  registered: '立案',
  dispatched: '已派遣',
  in_handling: '处置中',
  handled: '已处置',
  verified: '已核查',
  closed: '结案',
  returned: '退回',
  deferred: '缓办',
  cancelled: '作废',
};

export function fallbackCatalog(transitions: Record<string, Transition>): UiCatalog {
  const facilities = Object.fromEntries(
    facilityTypes.map((t) => {
      const spec = facilityCatalog[t];
      return [
        t,
        {
          zh: spec.nameZh,
          en: spec.nameEn,
          metrics: spec.metrics.map((m) => ({
            name: m.name,
            unit: m.unit ?? '',
            description: m.description,
          })),
        },
      ];
    }),
  ) as UiCatalog['facilities'];
  const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1).replace('_', ' ');
  return {
    facilityTypes,
    facilities,
    severities,
    severityLabels: Object.fromEntries(
      severities.map((s) => [s, { zh: severityZh[s], en: cap(s) }]),
    ) as UiCatalog['severityLabels'],
    caseStates,
    caseStateLabels: Object.fromEntries(
      caseStates.map((s) => [s, { zh: stateZh[s], en: cap(s) }]),
    ) as UiCatalog['caseStateLabels'],
    commands: commandCatalog,
    transitions,
  };
}

export const catalog = reactive<{ value: UiCatalog | null }>({ value: null });

/** Loads the catalog once after login; the route wins, the build-time lists stand in. */
export async function loadCatalog(): Promise<UiCatalog> {
  if (catalog.value) return catalog.value;
  let served: UiCatalog | null = null;
  try {
    served = await get<UiCatalog>('/api/catalog');
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
  }
  const value =
    served && served.facilities
      ? served
      : fallbackCatalog(
          (await get<{ transitions: Record<string, Transition> }>('/api/workflow')).transitions,
        );
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
    return t && isZh() ? t.zh : a;
  },
  unit: (type: string, metric: string) =>
    catalog.value?.facilities[type as FacilityType]?.metrics.find((m) => m.name === metric)?.unit ??
    '',
};

/** Severity rank: 0 most urgent (domain order), larger less. */
export const severityRank = (s: string): number => {
  const i = (severities as readonly string[]).indexOf(s);
  return i < 0 ? severities.length : i;
};
