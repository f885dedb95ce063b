import type { CaseDeadline, Crew, Department, DispatchRoute } from '@domain/organisation.js';

export type { CaseDeadline, Crew, Department, DispatchRoute };
import type { OverrideScope, RuleDefinition } from '@domain/rules.js';
import { get, post, qs, request, type DeviceRow, type Role, type User } from '../../api.js';

/**
 * The administration routes of docs/api.md ("Administration", "Integration
 * tokens", docs/rules.md, docs/gateway.md) on the one API client (api.ts):
 * same session, same CSRF header, same `ApiError`.
 */
export interface AdminUser extends User {
  readonly enabled: boolean;
  readonly createdAt: string;
  readonly passwordChangedAt: string | null;
  readonly disabledAt: string | null;
}

export interface Resolution {
  readonly route: DispatchRoute | null;
  readonly department: { id: string; name: string } | null;
  readonly crew: { id: string; name: string } | null;
  readonly reason: string;
}

export interface CasePolicy {
  readonly ruleId: string;
  readonly title: string | null;
  readonly openCase: boolean;
  readonly autoVerifyAfterMinutes: number | null;
  readonly custom: boolean;
}

export type TokenRole = Extract<Role, 'viewer' | 'operator'>;

export interface IntegrationToken {
  readonly id: number;
  readonly name: string;
  readonly role: TokenRole;
  readonly createdBy: string | null;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
  readonly revokedBy: string | null;
}

export interface DeviceInput {
  readonly id: string;
  readonly type: string;
  readonly gridCode: string;
  readonly name: string;
  readonly lat?: number;
  readonly lon?: number;
  readonly vendor?: string;
}

export interface ImportReport {
  readonly imported: number;
  readonly rejected: number;
  readonly devices: readonly { id: string; secret: string }[];
  readonly errors: readonly { line: number; id: string | null; message: string }[];
}

export interface RuleOverride {
  readonly ruleId: string;
  readonly scope: OverrideScope;
  readonly scopeId: string;
  readonly settings: Record<string, unknown>;
  readonly enabled: boolean | null;
}

export type Rule = RuleDefinition & { readonly packUpdate?: unknown };

export interface CalendarDay {
  readonly date: string;
  readonly kind: 'holiday' | 'workday';
  readonly name: string | null;
}

export interface Webhook {
  readonly id: number;
  readonly url: string;
  readonly events: readonly string[];
  readonly enabled: boolean;
  readonly secret?: string;
}

export interface Delivery {
  readonly id: number;
  readonly webhookId: number;
  readonly event: string;
  readonly status: 'pending' | 'delivered' | 'dead';
  readonly attempts: number;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
}

export interface DeadLetter {
  readonly id: number;
  readonly receivedAt: string;
  readonly deviceId: string | null;
  readonly topic: string;
  readonly code: string;
  readonly reason: string;
  readonly payloadBytes: number;
  readonly replayedAt: string | null;
}

export interface AuditEntry {
  readonly at: string;
  readonly username: string | null;
  readonly role: string | null;
  readonly action: string;
  readonly target: string | null;
  readonly outcome: string;
  readonly status: number | null;
  readonly ip: string | null;
}

const put = <T>(url: string, body: unknown) => request<T>('PUT', url, { body });
const patch = <T>(url: string, body: unknown) => request<T>('PATCH', url, { body });
const del = (url: string) => request<unknown>('DELETE', url);
const enc = encodeURIComponent;

export const adminApi = {
  users: () => get<{ users: AdminUser[] }>('/api/users'),
  createUser: (body: Record<string, unknown>) => post<AdminUser>('/api/users', body),
  patchUser: (id: number, body: Record<string, unknown>) =>
    patch<AdminUser>(`/api/users/${id}`, body),
  setUserEnabled: (id: number, enabled: boolean) =>
    post<AdminUser>(`/api/users/${id}/${enabled ? 'enable' : 'disable'}`),
  resetPassword: (id: number, password: string) =>
    post<AdminUser>(`/api/users/${id}/password`, { password }),

  tokens: (revoked: boolean) =>
    get<{ tokens: IntegrationToken[] }>(`/api/integration-tokens${qs({ revoked })}`),
  createToken: (name: string, role: TokenRole) =>
    post<{ token: string; integrationToken: IntegrationToken }>('/api/integration-tokens', {
      name,
      role,
    }),
  revokeToken: (id: number) => del(`/api/integration-tokens/${id}`),

  devices: (params: { type?: string; grid?: string; offset: number; limit: number }) =>
    get<{ total: number; devices: DeviceRow[] }>(`/api/devices${qs(params)}`),
  createDevice: (d: DeviceInput) => post<{ device: DeviceRow; secret: string }>('/api/devices', d),
  importDevices: (csv: string) =>
    request<ImportReport>('POST', '/api/devices/import', {
      body: csv,
      contentType: 'text/csv; charset=utf-8',
    }),
  newDeviceSecret: (id: string) =>
    post<{ id: string; secret: string }>(`/api/devices/${enc(id)}/secret`),
  setDeviceEnabled: (id: string, enabled: boolean) =>
    post<DeviceRow>(`/api/devices/${enc(id)}/${enabled ? 'enable' : 'disable'}`),

  departments: () => get<{ departments: Department[] }>('/api/departments'),
  createDepartment: (id: string, name: string) =>
    post<Department>('/api/departments', { id, name }),
  renameDepartment: (id: string, name: string) =>
    patch<Department>(`/api/departments/${enc(id)}`, { name }),
  deleteDepartment: (id: string) => del(`/api/departments/${enc(id)}`),
  crews: () => get<{ crews: Crew[] }>('/api/crews'),
  createCrew: (body: { id: string; departmentId: string; name: string }) =>
    post<Crew>('/api/crews', body),
  renameCrew: (id: string, name: string) => patch<Crew>(`/api/crews/${enc(id)}`, { name }),
  deleteCrew: (id: string) => del(`/api/crews/${enc(id)}`),

  routes: () => get<{ routes: DispatchRoute[] }>('/api/dispatch-routes'),
  createRoute: (body: Record<string, unknown>) => post<DispatchRoute>('/api/dispatch-routes', body),
  deleteRoute: (id: number) => del(`/api/dispatch-routes/${id}`),
  resolveRoute: (type: string, grid: string) =>
    get<Resolution>(
      `/api/dispatch-routes/resolve${qs({ type: type || null, grid: grid || null })}`,
    ),

  deadlines: () => get<{ deadlines: CaseDeadline[] }>('/api/case-deadlines'),
  patchDeadline: (id: number, body: Record<string, unknown>) =>
    patch<CaseDeadline>(`/api/case-deadlines/${id}`, body),
  policies: () => get<{ policies: CasePolicy[] }>('/api/rule-case-policies'),
  putPolicy: (ruleId: string, openCase: boolean, autoVerifyAfterMinutes: number | null) =>
    put<CasePolicy>(`/api/rule-case-policies/${enc(ruleId)}`, {
      openCase,
      autoVerifyAfterMinutes,
    }),
  resetPolicy: (ruleId: string) => del(`/api/rule-case-policies/${enc(ruleId)}`),

  rules: () => get<{ rules: Rule[] }>('/api/rules'),
  rule: (id: string) => get<Rule & { overrides: RuleOverride[] }>(`/api/rules/${enc(id)}`),
  setRuleEnabled: (id: string, enabled: boolean) =>
    post<Rule>(`/api/rules/${enc(id)}/${enabled ? 'enable' : 'disable'}`),
  putOverride: (
    id: string,
    scope: OverrideScope,
    scopeId: string,
    body: { settings: Record<string, unknown>; enabled: boolean | null },
  ) => put<RuleOverride>(`/api/rules/${enc(id)}/overrides/${scope}/${enc(scopeId)}`, body),
  deleteOverride: (id: string, scope: OverrideScope, scopeId: string) =>
    del(`/api/rules/${enc(id)}/overrides/${scope}/${enc(scopeId)}`),

  calendar: (from: string, to: string) =>
    get<{
      timeZone: string;
      workingHours: { start: string; end: string }[];
      days: CalendarDay[];
    }>(`/api/calendar${qs({ from, to })}`),
  putDays: (days: CalendarDay[]) =>
    put<{ days: CalendarDay[] }>('/api/calendar/days', {
      days: days.map((d) => (d.name ? d : { date: d.date, kind: d.kind })),
    }),
  deleteDay: (date: string) => del(`/api/calendar/days/${date}`),

  webhooks: () => get<{ webhooks: Webhook[] }>('/api/webhooks'),
  createWebhook: (body: { url: string; events?: string[] }) => post<Webhook>('/api/webhooks', body),
  deliveries: (status?: string) =>
    get<{ deliveries: Delivery[] }>(`/api/webhooks/deliveries${qs({ status, limit: 100 })}`),

  deadLetters: (replayed: boolean) =>
    get<{ deadLetters: DeadLetter[] }>(`/api/dead-letters${qs({ replayed, limit: 200 })}`),
  replay: (ids: number[]) =>
    post<{ outcomes: { id: number; status: string }[] }>('/api/dead-letters/replay', { ids }),
  audit: (params: Record<string, string | undefined>) =>
    get<{ entries: AuditEntry[] }>(`/api/audit${qs({ ...params, limit: 200 })}`),
};
