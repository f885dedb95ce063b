import { reactive } from 'vue';
import { areaCodePattern } from '@domain/grid.js';
import { overrideScopes, type OverrideScope } from '@domain/rules.js';
import { deviceIdPattern } from '@domain/topics.js';
import { ApiError } from '../../api.js';
import type { Area } from '../../catalog.js';
import { session } from '../../hub.js';
import type { ImportReport } from './admin-api.js';

/**
 * The pure part of the admin pages (issue #13, item 10): form checks that
 * name the field and the problem (an i18n key under `admin.errors`), and the
 * one notice line every admin page reports its last change in. The server
 * checks everything again; these only spare a round trip and say it sooner.
 */
export type Problems<K extends string> = Partial<Record<K, string>>;

/** The last change and how it went, shown above every admin page. */
export const notice = reactive({ text: '', kind: '' as '' | 'ok' | 'error' });

/**
 * Runs one admin change: success and failure land in the notice (a failure
 * with the hub's `HUB_ERR_…` code, never silently); a 401 ends the session
 * so the app shows its login.
 */
export async function run<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    const out = await fn();
    notice.text = `✓ ${what}`;
    notice.kind = 'ok';
    return out;
  } catch (err) {
    const code = err instanceof ApiError ? `${err.code} ` : '';
    notice.text = `✗ ${what}: ${code}${(err as Error).message}`;
    notice.kind = 'error';
    if (err instanceof ApiError && err.status === 401) session.user = null;
    return undefined;
  }
}

/** The one open question of the admin pages ("revoke this token?"), answered in AdminView's dialog. */
export const confirmation = reactive({
  text: '',
  answer: null as ((yes: boolean) => void) | null,
});

/** Asks before a change that cannot be undone; resolves with the answer. */
export function confirmAction(text: string): Promise<boolean> {
  confirmation.answer?.(false);
  return new Promise((resolve) => {
    confirmation.text = text;
    confirmation.answer = (yes) => {
      confirmation.text = '';
      confirmation.answer = null;
      resolve(yes);
    };
  });
}

// The login name shape of POST /api/users (docs/api.md).
const usernameShape = /^[A-Za-z0-9_.-]{2,64}$/;
/** docs/cases.md: passwords have at least 10 characters. */
export const minPasswordLength = 10;
const areaCodeShape = new RegExp(areaCodePattern);

export interface UserFields {
  username: string;
  displayName: string;
  role: string;
  crewId: string;
  areaCode: string;
  password: string;
}

export function validateUser(f: UserFields): {
  problems: Problems<keyof UserFields>;
  body: Record<string, unknown>;
} {
  const problems: Problems<keyof UserFields> = {};
  if (!usernameShape.test(f.username)) problems.username = 'username';
  if (!f.role) problems.role = 'required';
  if (f.role === 'crew' && !f.crewId) problems.crewId = 'crewNeeded';
  const pw = passwordProblem(f.password);
  if (pw) problems.password = pw;
  const body: Record<string, unknown> = {
    username: f.username,
    role: f.role,
    password: f.password,
  };
  if (f.displayName.trim()) body.displayName = f.displayName.trim();
  if (f.role === 'crew') body.crewId = f.crewId;
  if (f.areaCode) body.areaCode = f.areaCode;
  return { problems, body };
}

export function passwordProblem(password: string): string | undefined {
  return password.length < minPasswordLength ? 'password' : undefined;
}

/** An integration token's name: a device id's shape (the route's schema, src/domain/topics.ts). */
export function tokenNameProblem(name: string): string | undefined {
  return deviceIdPattern.test(name) ? undefined : 'idShape';
}

/**
 * Department and crew ids share the device id's shape too (docs/api.md, "Administration").
 * @alias the token name's check, under the name the forms read.
 */
export const idProblem = tokenNameProblem;

export interface DeviceFields {
  id: string;
  type: string;
  gridCode: string;
  name: string;
  lat: string;
  lon: string;
  vendor: string;
}

export function validateDevice(
  f: DeviceFields,
  grids: ReadonlySet<string>,
): { problems: Problems<keyof DeviceFields>; body: Record<string, unknown> } {
  const problems: Problems<keyof DeviceFields> = {};
  if (!deviceIdPattern.test(f.id)) problems.id = 'idShape';
  if (!f.type) problems.type = 'required';
  if (!grids.has(f.gridCode)) problems.gridCode = 'gridUnknown';
  if (!f.name.trim()) problems.name = 'required';
  const body: Record<string, unknown> = {
    id: f.id,
    type: f.type,
    gridCode: f.gridCode,
    name: f.name.trim(),
  };
  for (const [k, max] of [
    ['lat', 90],
    ['lon', 180],
  ] as const) {
    if (!f[k].trim()) continue;
    const v = Number(f[k]);
    if (!Number.isFinite(v) || Math.abs(v) > max) problems[k] = 'coordinate';
    else body[k] = v;
  }
  if (f.vendor.trim()) body.vendor = f.vendor.trim();
  return { problems, body };
}

/** An area code the city has (the catalog's areas), or '' for the whole city when allowed. */
export function areaProblem(
  code: string,
  areas: readonly Area[],
  allowCity: boolean,
): string | undefined {
  if (code === '') return allowCity ? undefined : 'required';
  if (!areaCodeShape.test(code)) return 'areaShape';
  return areas.some((a) => a.code === code) ? undefined : 'areaUnknown';
}

export interface OverrideFields {
  scope: string;
  scopeId: string;
  settings: string;
  enabled: '' | 'true' | 'false';
}

/**
 * An override as PUT /api/rules/:id/overrides/:scope/:scopeId takes it:
 * settings as a JSON object (merged deeply over the rule's on the server),
 * `enabled` unset, on or off. District and grid scopes name an area of the city.
 */
export function validateOverride(
  f: OverrideFields,
  areas: readonly Area[],
): {
  problems: Problems<keyof OverrideFields>;
  scope: OverrideScope;
  body: { settings: Record<string, unknown>; enabled: boolean | null };
} {
  const problems: Problems<keyof OverrideFields> = {};
  const scope = f.scope as OverrideScope;
  if (!overrideScopes.includes(scope)) problems.scope = 'required';
  const scopeId = f.scopeId.trim();
  if (!scopeId) problems.scopeId = 'required';
  else if (scope === 'district' || scope === 'grid') {
    const p = areaProblem(scopeId, areas, false);
    if (p) problems.scopeId = p;
  }
  let settings: Record<string, unknown> = {};
  const text = f.settings.trim();
  if (text) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
        settings = parsed as Record<string, unknown>;
      else problems.settings = 'jsonObject';
    } catch {
      problems.settings = 'json';
    }
  }
  const enabled = f.enabled === '' ? null : f.enabled === 'true';
  if (!text && enabled === null) problems.settings = 'overrideEmpty';
  return { problems, scope, body: { settings, enabled } };
}

/** Longest auto-verify delay (a week) and longest deadline (a year), as the routes take them. */
export const maxAutoVerifyMinutes = 10080;
export const maxDeadlineMinutes = 525600;

/** Whole minutes from 1 to `max`. */
export function minutesProblem(value: string | number, max: number): string | undefined {
  const n = Number(value);
  return String(value).trim() !== '' && Number.isInteger(n) && n >= 1 && n <= max
    ? undefined
    : 'minutes';
}

/** A real calendar date as YYYY-MM-DD. */
export function dateProblem(date: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return 'date';
  const d = new Date(`${date}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(date) ? undefined : 'date';
}

/**
 * The import report as the page shows it: counts, problems by line, and the
 * new devices' secrets as a CSV to download (shown once: only hashes are kept).
 */
export function importSummary(report: ImportReport): {
  imported: number;
  rejected: number;
  errors: ImportReport['errors'];
  secretsCsv: string;
} {
  return {
    imported: report.imported,
    rejected: report.rejected,
    errors: [...report.errors].sort((a, b) => a.line - b.line),
    secretsCsv: report.devices.length
      ? ['id,secret', ...report.devices.map((d) => `${d.id},${d.secret}`)].join('\n') + '\n'
      : '',
  };
}

/** A report of the server that refused every row (400) still carries the rows' problems. */
export function isImportReport(data: unknown): data is ImportReport {
  return (
    !!data &&
    typeof data === 'object' &&
    Array.isArray((data as ImportReport).errors) &&
    typeof (data as ImportReport).imported === 'number'
  );
}
