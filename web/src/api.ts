import type {
  AlarmRecord,
  CaseDetail,
  CaseEvent,
  CaseState,
  Category,
  CategoryMajor,
  DuplicateCandidate,
  FieldReport,
  Patrol,
  PublicReportView,
  QueueItem,
  Role,
  SatisfactionRating,
  Severity,
  TrackPoint,
  Verification,
  VerificationTask,
} from '@domain/index.js';

/**
 * The one API client of every page (issue #13): same-origin cookie session,
 * JSON in and out, `X-Hub-Request: 1` on every state-changing request (the
 * hub refuses cookie-authenticated writes without it: CSRF), and errors as
 * `ApiError` with the hub's stable `HUB_ERR_…` code.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The whole error body (an import's report of refused rows rides on its 400). */
    readonly body: unknown = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface RequestOptions {
  readonly body?: unknown;
  /** A text body sent as is with this type (a device CSV, `text/csv`), not as JSON. */
  readonly contentType?: string;
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
}

export type Fetch = typeof fetch;

const fetchImpl: Fetch = (...args) => fetch(...args);

export async function request<T>(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  options: RequestOptions = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const init: RequestInit = { method, credentials: 'same-origin', headers };
  if (method !== 'GET') headers['x-hub-request'] = '1';
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
  if (options.body instanceof FormData) init.body = options.body;
  else if (options.contentType && typeof options.body === 'string') {
    headers['content-type'] = options.contentType;
    init.body = options.body;
  } else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  if (options.signal) init.signal = options.signal;
  const res = await fetchImpl(url, init);
  const text = await res.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const e = (data ?? {}) as { code?: string; message?: string };
    throw new ApiError(res.status, e.code ?? 'HUB_ERR_HTTP', e.message ?? res.statusText, data);
  }
  return data as T;
}

export const get = <T>(url: string, signal?: AbortSignal) =>
  request<T>('GET', url, signal ? { signal } : {});
export const post = <T>(url: string, body?: unknown, idempotencyKey?: string) =>
  request<T>('POST', url, {
    ...(body === undefined ? {} : { body }),
    ...(idempotencyKey ? { idempotencyKey } : {}),
  });

/** A multipart POST (fields, then the photos as `photo` parts): reports and verifications. */
export function postForm<T>(
  url: string,
  fields: Record<string, string>,
  photos: readonly { name: string; blob: Blob }[],
  idempotencyKey?: string,
): Promise<T> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  for (const p of photos) form.append('photo', p.blob, p.name);
  return request<T>('POST', url, { body: form, ...(idempotencyKey ? { idempotencyKey } : {}) });
}

/** Query string from defined values only. */
export function qs(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

// REST shapes of docs/api.md that src/domain does not hold (yet). The wire
// types it does hold (alarms, cases, timeline) are imported, never copied.

export interface User {
  readonly id: number;
  readonly username: string;
  readonly displayName: string;
  readonly role: Role;
  readonly departmentId: string | null;
  readonly crewId: string | null;
  readonly areaCode: string | null;
}

export interface DeviceRow {
  readonly id: string;
  readonly type: string;
  readonly name: string;
  readonly gridCode: string;
  readonly lat: number | null;
  readonly lon: number | null;
  readonly enabled: boolean;
  readonly online: boolean;
  readonly attrs: Record<string, unknown>;
}

export interface Transition {
  readonly from: readonly CaseState[];
  readonly to: CaseState | null;
  readonly roles: readonly Role[];
  readonly requires?: 'reason' | 'note' | 'hours';
  readonly zh: string;
  readonly en?: string;
}

export interface CommandRow {
  readonly id: string;
  readonly name: string;
  readonly args: Record<string, unknown>;
  readonly state: string;
  readonly error: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface Reading {
  readonly time: string;
  readonly data: Record<string, unknown>;
}

export interface FacilityKpiRow {
  readonly area: string;
  readonly name: string;
  readonly facilities: number;
  readonly faulty: number;
  readonly online: number;
  readonly integrityRate: number | null;
  readonly onlineRate: number | null;
  readonly lightingRate?: number | null;
}

export interface CaseKpiRow {
  readonly key: string;
  readonly [k: string]: unknown;
}

export const api = {
  me: () => get<{ user: User }>('/api/auth/me'),
  login: (username: string, password: string) =>
    post<{ user: User }>('/api/auth/login', { username, password }),
  logout: () => post<unknown>('/api/auth/logout'),
  workflow: () => get<{ transitions: Record<string, Transition> }>('/api/workflow'),
  devices: (offset: number, limit = 1000) =>
    get<{ total: number; devices: DeviceRow[] }>(`/api/devices${qs({ offset, limit })}`),
  device: (id: string) => get<DeviceRow>(`/api/devices/${encodeURIComponent(id)}`),
  latest: (deviceId: string) =>
    get<{ latest: { deviceId: string; time: string; data: Record<string, unknown> }[] }>(
      `/api/latest${qs({ deviceId })}`,
    ),
  telemetry: (deviceId: string, fromMs: number) =>
    get<{ readings: Reading[] }>(
      `/api/telemetry/${encodeURIComponent(deviceId)}${qs({ from: fromMs, limit: 10000 })}`,
    ),
  commands: (deviceId: string) =>
    get<{ commands: CommandRow[] }>(`/api/devices/${encodeURIComponent(deviceId)}/commands`),
  sendCommand: (deviceId: string, name: string, args: Record<string, unknown>) =>
    post<CommandRow>(`/api/devices/${encodeURIComponent(deviceId)}/commands`, { name, args }),
  alarms: (state: 'open' | 'cleared' = 'open', limit = 1000) =>
    get<{ alarms: AlarmRecord[] }>(`/api/alarms${qs({ state, limit })}`),
  ackAlarm: (id: number, comment: string) =>
    post<AlarmRecord>(`/api/alarms/${id}/ack`, { comment }),
  shelveAlarm: (id: number, minutes: number, comment: string) =>
    post<AlarmRecord>(`/api/alarms/${id}/shelve`, { minutes, comment }),
  cases: (params: Record<string, string | number | undefined>) =>
    get<{ total: number; cases: CaseDetail[] }>(`/api/cases${qs(params)}`),
  case: (id: number) =>
    get<{ case: CaseDetail; timeline: CaseEvent[]; actions: string[] }>(`/api/cases/${id}`),
  act: (id: number, action: string, body: Record<string, unknown>, idempotencyKey?: string) =>
    post<{ case: CaseDetail }>(`/api/cases/${id}/actions/${action}`, body, idempotencyKey),
  uploadPhoto: (caseId: number, file: Blob, name: string) => {
    const form = new FormData();
    form.append('file', file, name);
    return post<{ id: number; bytes: number }>(`/api/cases/${caseId}/photos`, form);
  },
  fieldReports: (params: { state?: string; source?: string; mine?: boolean; limit?: number }) =>
    get<{ reports: FieldReport[] }>(`/api/field-reports${qs(params)}`),
  reportQueue: () => get<{ items: QueueItem[] }>('/api/field-reports/queue'),
  fieldReport: (id: number) =>
    get<{ report: FieldReport; duplicates: DuplicateCandidate[] }>(`/api/field-reports/${id}`),
  acceptReport: (id: number, body: Record<string, unknown>) =>
    post<{ report: FieldReport; case: CaseDetail }>(`/api/field-reports/${id}/accept`, body),
  rejectReport: (id: number, body: Record<string, unknown>) =>
    post<{ report: FieldReport }>(`/api/field-reports/${id}/reject`, body),
  mergeReport: (id: number, into: { reportId: number } | { caseId: number }) =>
    post<{ report: FieldReport }>(`/api/field-reports/${id}/merge`, into),
  startPatrol: () => post<Patrol>('/api/patrols', {}),
  patrolPoints: (id: number, points: readonly object[]) =>
    post<{ patrol: Patrol; stored: number }>(`/api/patrols/${id}/points`, { points }),
  endPatrol: (id: number) => post<Patrol>(`/api/patrols/${id}/end`, {}),
  patrols: (limit = 10) => get<{ patrols: Patrol[] }>(`/api/patrols${qs({ mine: true, limit })}`),
  patrol: (id: number) => get<{ patrol: Patrol; segments: TrackPoint[][] }>(`/api/patrols/${id}`),
  verifications: () => get<{ tasks: VerificationTask[] }>('/api/verifications'),
  caseVerifications: (caseId: number) =>
    get<{ verifications: Verification[] }>(`/api/cases/${caseId}/verifications`),
  crews: () => get<{ crews: { id: string; name: string; departmentName: string }[] }>('/api/crews'),
  facilityKpis: (level: string, area?: string) =>
    get<{ rows: FacilityKpiRow[] }>(`/api/kpis/facilities${qs({ level, area })}`),
  caseKpis: (groupBy: string, from: string, area?: string) =>
    get<{ rows: CaseKpiRow[] }>(`/api/kpis${qs({ groupBy, from, area })}`),
};

/** The public channel (no login): the citizen page's calls. */
export const publicApi = {
  categories: () =>
    get<{ majors: CategoryMajor[]; categories: Category[] }>('/api/public/categories'),
  report: (fields: Record<string, string>, photos: readonly { name: string; blob: Blob }[]) =>
    postForm<{ code: string; status: string; createdAt: string }>(
      '/api/public/reports',
      fields,
      photos,
    ),
  status: (code: string) =>
    get<PublicReportView>(`/api/public/reports/${encodeURIComponent(code)}`),
  rate: (code: string, rating: SatisfactionRating, comment: string) =>
    post<{ code: string; rating: SatisfactionRating }>(
      `/api/public/reports/${encodeURIComponent(code)}/rating`,
      comment ? { rating, comment } : { rating },
    ),
};

/** A report's photo as the control room and its reporter see it. */
export const reportPhotoUrl = (reportId: number, photoId: number) =>
  `/api/field-reports/${reportId}/photos/${photoId}`;

export type { AlarmRecord, CaseDetail, CaseEvent, Role, Severity };
