/**
 * Filters of the `alarm in` and `case in` nodes, applied to each event before
 * it leaves the node. Pure, so it is unit tested without a runtime.
 */
export interface EventFilter {
  /** Area code prefix: a district (6 digits), street (9), community (12) or grid (15); '' = the city. */
  readonly area: string;
  /** '' = any facility type. */
  readonly facilityType: string;
  /** Empty = any. */
  readonly severities: readonly string[];
  /** Empty = any. */
  readonly states: readonly string[];
}

export interface FilterConfig {
  area?: unknown;
  facilityType?: unknown;
  severity?: unknown;
  state?: unknown;
}

function list(value: unknown): string[] {
  const items = Array.isArray(value) ? value : String(value ?? '').split(',');
  return items.map((s) => String(s).trim()).filter((s) => s !== '');
}

/** The filter of a node's settings; a bad area code is an error the node shows. */
export function parseFilter(config: FilterConfig): EventFilter {
  const area = String(config.area ?? '').trim();
  if (area !== '' && !/^\d{6}(\d{3}(\d{3}(\d{3})?)?)?$/.test(area)) {
    throw new Error(`area must be a district, street, community or grid code, not "${area}"`);
  }
  return {
    area,
    facilityType: String(config.facilityType ?? '').trim(),
    severities: list(config.severity),
    states: list(config.state),
  };
}

export interface Filterable {
  readonly gridCode?: string | null;
  readonly facilityType?: string | null;
  readonly severity?: string;
  readonly state?: string;
}

export function matchesFilter(filter: EventFilter, item: Filterable): boolean {
  if (filter.area !== '' && !(item.gridCode ?? '').startsWith(filter.area)) return false;
  if (filter.facilityType !== '' && item.facilityType !== filter.facilityType) return false;
  if (filter.severities.length > 0 && !filter.severities.includes(item.severity ?? ''))
    return false;
  if (filter.states.length > 0 && !filter.states.includes(item.state ?? '')) return false;
  return true;
}

/** Whether an MQTT topic matches a subscription filter with `+` and `#`. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
