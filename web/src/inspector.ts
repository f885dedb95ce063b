import { reactive } from 'vue';
import type { FieldReport, Patrol, VerificationTask } from '@domain/field-reports.js';
import { api, ApiError, postForm, type CaseDetail } from './api.js';
import { applyCase, cases, onLive, session } from './hub.js';
import { idbStore, memoryStore, OfflineQueue, type Outcome } from './offline-queue.js';
import {
  defaultTrackOptions,
  fixOf,
  PatrolTrack,
  type Fix,
  type GpsState,
} from './patrol-track.js';
import {
  emptyReportDraft,
  reportFields,
  upsertReport,
  type ReportDraft,
} from './stores/field-reports.js';

/**
 * The grid inspector's side of the phone app (网格员, issue #16): the patrol
 * and its GPS track, reports (上报) and on-site verifications (核查) waiting
 * offline like the crew's actions, my reports and my verification tasks kept
 * live. Outside any component, so switching tabs loses nothing.
 */
export const inspector = reactive({
  online: typeof navigator === 'undefined' ? true : navigator.onLine,
  queued: 0,
  notices: [] as { kind: 'sent' | 'refused'; code: string; message: string }[],
  reports: [] as FieldReport[],
  tasks: [] as VerificationTask[],
  patrol: null as Patrol | null,
  lastPatrol: null as Patrol | null,
  gps: 'idle' as GpsState | 'idle' | 'denied',
  lostS: 0,
  accuracy: null as number | null,
  kept: 0,
  gaps: 0,
  distanceM: 0,
  pendingPoints: 0,
  /** The newest fix of the patrol, offered to a report. */
  lastFix: null as (Fix & { ms: number }) | null,
});

/** The report being written; kept here so a tab switch or a live update loses nothing. */
export const reportDraft = reactive<ReportDraft>(emptyReportDraft());

export function resetReportDraft(): void {
  Object.assign(reportDraft, emptyReportDraft());
}

export interface VerifyDraft {
  result: 'passed' | 'failed' | '';
  note: string;
  photos: File[];
}

/** What the inspector chose and typed per case to verify, by case id. */
export const verifyDrafts = reactive(new Map<number, VerifyDraft>());

export function verifyDraftOf(caseId: number): VerifyDraft {
  if (!verifyDrafts.has(caseId)) verifyDrafts.set(caseId, { result: '', note: '', photos: [] });
  return verifyDrafts.get(caseId)!;
}

const queue = new OfflineQueue(
  typeof indexedDB === 'undefined' ? memoryStore() : idbStore('hub-inspector'),
  {
    uploadPhoto: () => Promise.reject(new Error('not used')),
    act: () => Promise.reject(new Error('not used')),
    form: (url, fields, photos, key) => postForm(url, fields, photos, key),
  },
);

async function count(): Promise<void> {
  inspector.queued = (await queue.pending()).length;
}

function handle(outcomes: Outcome[]): void {
  for (const o of outcomes) {
    if (o.action.kind !== 'form') continue;
    const { url, code } = o.action;
    if (o.kind === 'conflict') {
      inspector.notices.push({ kind: 'refused', code, message: o.error.message });
      continue;
    }
    if (url.endsWith('/verification')) {
      const { case: c } = o.result as { case: CaseDetail };
      applyCase(c);
      inspector.tasks = inspector.tasks.filter((t) => t.caseId !== c.id);
      verifyDrafts.delete(c.id);
    } else {
      const report = o.result as FieldReport;
      inspector.reports = upsertReport(inspector.reports, report);
    }
    inspector.notices.push({ kind: 'sent', code, message: '' });
  }
}

export async function replay(): Promise<void> {
  handle(await queue.replay());
  await count();
}

async function enqueue(
  url: string,
  code: string,
  fields: Record<string, string>,
  photos: readonly File[],
): Promise<void> {
  await queue.enqueueForm({
    url,
    code,
    fields,
    photos: photos.map((f) => ({ name: f.name, blob: f })),
  });
  await count();
  if (navigator.onLine) await replay();
}

/** A report, queued (with its idempotency key) and sent at once when the network allows. */
export function submitReport(d: ReportDraft): Promise<void> {
  const patrolId = inspector.patrol ? String(inspector.patrol.id) : undefined;
  return enqueue('/api/field-reports', d.categoryCode, reportFields(d, { patrolId }), d.photos);
}

export function submitVerification(
  task: VerificationTask,
  fields: Record<string, string>,
  photos: readonly File[],
): Promise<void> {
  return enqueue(`/api/cases/${task.caseId}/verification`, task.caseCode, fields, photos);
}

export async function loadReports(): Promise<void> {
  inspector.reports = (await api.fieldReports({ mine: true, limit: 100 })).reports;
}

export async function loadTasks(): Promise<void> {
  inspector.tasks = (await api.verifications()).tasks;
}

/** A task is done once its case left `handled` (verified, or taken back elsewhere). */
export function pruneTasks(): void {
  inspector.tasks = inspector.tasks.filter((t) => {
    const c = cases.byId.get(t.caseId);
    return !c || c.state === 'handled';
  });
}

// ---- Patrol ----------------------------------------------------------------

let track: PatrolTrack | null = null;
let watchId: number | null = null;
let ticker: ReturnType<typeof setInterval> | null = null;
let flusher: ReturnType<typeof setInterval> | null = null;
let flushing: Promise<void> | null = null;
const flushEveryMs = 10_000;

function refresh(now = Date.now()): void {
  if (!track) return;
  if (inspector.gps !== 'denied') inspector.gps = track.state(now);
  inspector.lostS = track.lostForS(now);
  inspector.kept = track.stats.kept;
  inspector.gaps = track.stats.gaps;
  inspector.distanceM = Math.round(track.stats.distanceM);
  inspector.pendingPoints = track.pending();
}

/** Sends what the track holds, a batch at a time; what the network refuses waits for the next flush. */
export function flushPoints(): Promise<void> {
  flushing ??= (async () => {
    try {
      while (track && inspector.patrol && track.pending()) {
        const batch = track.takeBatch();
        try {
          const { patrol } = await api.patrolPoints(inspector.patrol.id, batch);
          inspector.patrol = patrol;
        } catch (err) {
          // Ended elsewhere: the points have no patrol to go to.
          if (err instanceof ApiError && err.status === 409) break;
          track.returnBatch(batch);
          break;
        }
      }
    } finally {
      flushing = null;
      refresh();
    }
  })();
  return flushing;
}

function follow(p: Patrol): void {
  inspector.patrol = p;
  track = new PatrolTrack(Date.now(), defaultTrackOptions);
  inspector.gps = 'waiting';
  refresh();
  if ('geolocation' in navigator) {
    watchId = navigator.geolocation.watchPosition(
      (pos) => {
        const fix = fixOf(pos);
        inspector.accuracy = fix.accuracy ?? null;
        inspector.lastFix = { ...fix, ms: Date.now() };
        track?.add(fix, Date.now());
        refresh();
      },
      (err) => {
        if (err.code === err.PERMISSION_DENIED) inspector.gps = 'denied';
        track?.fail(Date.now());
        refresh();
      },
      { enableHighAccuracy: true, maximumAge: 5_000, timeout: 20_000 },
    );
  } else inspector.gps = 'denied';
  ticker = setInterval(() => refresh(), 1000);
  flusher = setInterval(() => void flushPoints(), flushEveryMs);
}

function unfollow(): void {
  if (watchId !== null) navigator.geolocation.clearWatch(watchId);
  watchId = null;
  if (ticker) clearInterval(ticker);
  if (flusher) clearInterval(flusher);
  ticker = flusher = null;
}

export async function startPatrol(): Promise<void> {
  try {
    follow(await api.startPatrol());
  } catch (err) {
    // One under way already (another tab, a reload): carry on with it.
    if (!(err instanceof ApiError) || err.code !== 'HUB_ERR_PATROL_OPEN') throw err;
    await resumePatrol();
  }
}

export async function endPatrol(): Promise<void> {
  const p = inspector.patrol;
  if (!p) return;
  unfollow();
  await flushPoints();
  inspector.lastPatrol = await api.endPatrol(p.id);
  inspector.patrol = null;
  inspector.gps = 'idle';
  track = null;
}

/** After a reload: the patrol still under way is followed again. */
export async function resumePatrol(): Promise<void> {
  if (inspector.patrol) return;
  const [latest] = (await api.patrols(1)).patrols;
  if (latest && !latest.endedAt) follow(latest);
  else inspector.lastPatrol = latest ?? null;
}

// ---- Start -----------------------------------------------------------------

let started = false;
export function startInspector(): void {
  if (started) return;
  started = true;
  window.addEventListener('online', () => {
    inspector.online = true;
    void replay();
    void flushPoints();
  });
  window.addEventListener('offline', () => (inspector.online = false));
  onLive('fieldReport:changed', ({ report }) => {
    if (report.reporterId === session.user?.id)
      inspector.reports = upsertReport(inspector.reports, report);
  });
  onLive('verification:requested', ({ task }) => {
    if (!inspector.tasks.some((t) => t.caseId === task.caseId))
      inspector.tasks = [...inspector.tasks, task];
  });
  void count().then(() => (navigator.onLine ? replay() : undefined));
  void loadReports().catch(() => undefined);
  void loadTasks().catch(() => undefined);
  void resumePatrol().catch(() => undefined);
}
