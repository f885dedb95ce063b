import { randomInt } from 'node:crypto';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import {
  caseTimeline,
  decideReport,
  duplicatesOf,
  getCaseDetail,
  getFieldReport,
  getFieldReportByCode,
  gridExists,
  insertCasePhoto,
  insertFieldReport,
  insertRating,
  insertReportPhoto,
  insertVerification,
  inspectorsOfGrid,
  linkReportCase,
  listCategoryOverrides,
  listFieldReports,
  listReportPhotos,
  listVerifications,
  nearestDeviceGrid,
  putCategoryOverride,
  rejectMergedInto,
  undecideReport,
  verificationTasks,
  type Queryable,
} from '../db/index.js';
import {
  HubError,
  caseScopeOf,
  kindOfCategory,
  mergeCategories,
  publicReportStatus,
  publicReportStatusLabels,
  type Actor,
  type CaseDetail,
  type Category,
  type FacilityType,
  type FieldReport,
  type FieldReportChange,
  type FieldReportSource,
  type PublicReportView,
  type QueueItem,
  type RejectReason,
  type SatisfactionRating,
  type Severity,
  type Verification,
  type VerificationRequest,
  type VerificationResult,
  type VerificationTask,
  type VerifyBy,
} from '../domain/index.js';
import type { CaseService } from './cases.js';

/** Settings of grid officers and the public channel (config.ts; docs/api.md). */
export interface FieldReportOptions {
  /** REPORT_ACCEPT_MINUTES: accept or reject a report within (受理时限). */
  readonly acceptMinutes: number;
  /** REPORT_DUPLICATE_METERS / _HOURS: what counts as a possible duplicate. */
  readonly duplicateMeters: number;
  readonly duplicateHours: number;
  /** CASE_VERIFY_BY. */
  readonly verifyBy: VerifyBy;
  /** CASE_VERIFY_MINUTES: on-site verification within, from `handled`. */
  readonly verifyMinutes: number;
  /** Where photos go: `<dataDir>/report-photos/<report id>/`, case photos as case-routes keeps them. */
  readonly dataDir: string;
}

export const defaultFieldReportOptions: Omit<FieldReportOptions, 'dataDir'> = {
  acceptMinutes: 60,
  duplicateMeters: 50,
  duplicateHours: 24,
  verifyBy: 'inspector',
  verifyMinutes: 60,
};

/** How far the nearest device may be for a citizen's report to take its grid. */
const nearestDeviceMetres = 500;
const categoriesTtlMs = 30_000;
// Crockford base32 without I, L, O, U: read out over the phone without confusion.
const codeAlphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export interface StoredPhoto {
  readonly bytes: Buffer;
  readonly contentType: string;
  readonly ext: string;
}

export type FieldReportEvent =
  | { readonly type: 'report'; readonly change: FieldReportChange }
  | {
      readonly type: 'verification';
      readonly userIds: readonly number[];
      readonly request: VerificationRequest;
    };

export interface NewReportInput {
  readonly source: FieldReportSource;
  readonly reporter: Actor | null;
  readonly categoryCode: string;
  readonly lat: number;
  readonly lon: number;
  readonly accuracyM: number | null;
  readonly note: string | null;
  readonly patrolId: number | null;
  readonly photos: readonly StoredPhoto[];
  readonly clientHash?: string | null;
  readonly fingerprintHash?: string | null;
}

export interface AcceptBody {
  readonly severity?: Severity;
  readonly title?: string;
  readonly note?: string;
  readonly facilityType?: FacilityType;
  readonly gridCode?: string;
}

const fileName = (ext: string): string =>
  Array.from({ length: 24 }, () => '0123456789abcdef'[randomInt(16)]).join('') + ext;

/**
 * Field reports (上报) and their acceptance (受理), on-site verification (核查)
 * and citizens' ratings (issue #16). An accepted report registers a case
 * through the case service (its workflow, deadlines and dispatch); a
 * verification takes the `verify` + `close` or `rework` actions there.
 */
export function createFieldReportService(deps: {
  readonly pool: Queryable;
  readonly cases: CaseService;
  readonly logger: Logger;
  readonly options: FieldReportOptions;
}) {
  const { pool, cases, logger, options } = deps;
  const nowIso = () => cases.now().toISOString();
  const listeners: ((e: FieldReportEvent) => void)[] = [];
  let categoriesCache: { at: number; list: Category[] } | null = null;

  const emit = (e: FieldReportEvent) => {
    for (const l of listeners) {
      try {
        l(e);
      } catch (err) {
        logger.error({ err }, 'field report listener failed');
      }
    }
  };
  const changed = async (reason: FieldReportChange['reason'], ids: readonly number[]) => {
    for (const id of ids) {
      const report = await getFieldReport(pool, id, nowIso());
      if (report) emit({ type: 'report', change: { reason, report } });
    }
  };

  async function categories(): Promise<Category[]> {
    if (categoriesCache && performance.now() - categoriesCache.at < categoriesTtlMs) {
      return categoriesCache.list;
    }
    const list = mergeCategories(await listCategoryOverrides(pool));
    categoriesCache = { at: performance.now(), list };
    return list;
  }
  async function category(code: string): Promise<Category> {
    const found = (await categories()).find((c) => c.code === code);
    if (!found) throw new HubError('HUB_ERR_CATEGORY_UNKNOWN', code);
    return found;
  }

  /** The report as `actor` may read it: an inspector its own, the control room its area's. */
  async function readable(actor: Actor, id: number): Promise<FieldReport> {
    const r = await getFieldReport(pool, id, nowIso());
    if (!r) throw new HubError('HUB_ERR_REPORT_UNKNOWN', String(id));
    if (actor.role === 'inspector') {
      if (r.reporterId !== actor.id) throw new HubError('HUB_ERR_FORBIDDEN', 'not your report');
      return r;
    }
    const area = caseScopeOf(actor).area;
    if (area && !(r.gridCode ?? '').startsWith(area)) {
      throw new HubError('HUB_ERR_OUT_OF_AREA', `report ${r.code} is outside ${area}`);
    }
    return r;
  }
  async function pending(actor: Actor, id: number): Promise<FieldReport> {
    const r = await readable(actor, id);
    if (r.state !== 'reported') {
      throw new HubError('HUB_ERR_REPORT_STATE', `report ${r.code} is ${r.state}`);
    }
    return r;
  }

  async function savePhoto(dir: string, p: StoredPhoto): Promise<string> {
    await mkdir(dir, { recursive: true });
    const name = fileName(p.ext);
    await writeFile(path.join(dir, name), p.bytes, { mode: 0o600 });
    return name;
  }
  const reportPhotoDir = (id: number) => path.join(options.dataDir, 'report-photos', String(id));
  const casePhotoDir = (id: number) => path.join(options.dataDir, 'photos', String(id));

  /** The grid of a new report: the inspector's own grid, else the nearest facility's. */
  async function gridFor(input: NewReportInput): Promise<string | null> {
    const own = input.reporter?.areaCode;
    if (own && (await gridExists(pool, own))) return own;
    return nearestDeviceGrid(pool, input.lat, input.lon, nearestDeviceMetres);
  }

  async function create(input: NewReportInput): Promise<FieldReport> {
    await category(input.categoryCode);
    if (input.photos.length === 0) throw new HubError('HUB_ERR_PHOTO_REQUIRED');
    const at = nowIso();
    const gridCode = await gridFor(input);
    let id = 0;
    for (let attempt = 0; ; attempt++) {
      const code = 'SB' + Array.from({ length: 10 }, () => codeAlphabet[randomInt(32)]).join('');
      try {
        id = await insertFieldReport(pool, {
          code,
          source: input.source,
          categoryCode: input.categoryCode,
          lat: input.lat,
          lon: input.lon,
          accuracyM: input.accuracyM,
          gridCode,
          note: input.note,
          reporterId: input.reporter?.id ?? null,
          patrolId: input.patrolId,
          clientHash: input.clientHash ?? null,
          fingerprintHash: input.fingerprintHash ?? null,
          at,
          acceptDueAt: new Date(Date.parse(at) + options.acceptMinutes * 60_000).toISOString(),
        });
        break;
      } catch (err) {
        // A tracking code drawn twice (1 in 32^10): draw again.
        if ((err as { code?: string }).code !== '23505' || attempt >= 3) throw err;
      }
    }
    for (const p of input.photos) {
      const name = await savePhoto(reportPhotoDir(id), p);
      await insertReportPhoto(pool, {
        reportId: id,
        fileName: name,
        contentType: p.contentType,
        bytes: p.bytes.length,
      });
    }
    const report = (await getFieldReport(pool, id, nowIso()))!;
    logger.info({ report: report.code, source: report.source }, 'field report received');
    emit({ type: 'report', change: { reason: 'created', report } });
    return report;
  }

  async function withDuplicates(r: FieldReport): Promise<QueueItem> {
    return {
      report: r,
      duplicates: await duplicatesOf(pool, r, {
        metres: options.duplicateMeters,
        hours: options.duplicateHours,
      }),
    };
  }

  /** Copies a report's photos to its case, so the case shows what was reported. */
  async function photosToCase(report: FieldReport, caseId: number): Promise<void> {
    for (const p of await listReportPhotos(pool, report.id)) {
      await mkdir(casePhotoDir(caseId), { recursive: true });
      await copyFile(
        path.join(reportPhotoDir(report.id), p.fileName),
        path.join(casePhotoDir(caseId), p.fileName),
      );
      await insertCasePhoto(pool, {
        caseId,
        fileName: p.fileName,
        contentType: p.contentType,
        bytes: p.bytes,
        uploadedBy: report.reporterId,
      });
    }
  }

  async function accept(
    actor: Actor,
    id: number,
    body: AcceptBody,
  ): Promise<{ report: FieldReport; case: CaseDetail }> {
    const r = await pending(actor, id);
    const cat = await category(r.categoryCode);
    const at = nowIso();
    // Claimed first, so two operators accepting at once register one case.
    if (!(await decideReport(pool, id, { state: 'accepted', at, by: actor.username }))) {
      throw new HubError('HUB_ERR_REPORT_STATE', `report ${r.code} was decided meanwhile`);
    }
    let created: CaseDetail;
    try {
      created = await cases.createManual(actor, {
        source: r.source,
        kind: kindOfCategory(r.categoryCode),
        severity: body.severity ?? 'minor',
        title:
          body.title ?? `${cat.label.zh}（${r.source === 'citizen' ? '市民上报' : '网格员上报'}）`,
        description: [r.note, body.note].filter(Boolean).join('\n') || null,
        facilityType: body.facilityType ?? null,
        deviceId: null,
        gridCode: body.gridCode ?? r.gridCode,
        location: `${r.lat.toFixed(6)},${r.lon.toFixed(6)}`,
        lat: r.lat,
        lon: r.lon,
        categoryCode: r.categoryCode,
      });
    } catch (err) {
      await undecideReport(pool, id);
      throw err;
    }
    const ids = await linkReportCase(pool, id, created.id, at);
    await photosToCase(r, created.id).catch((err: unknown) =>
      logger.warn({ err, report: r.code }, 'report photos not copied to the case'),
    );
    await changed('accepted', [id]);
    await changed(
      'updated',
      ids.filter((x) => x !== id),
    );
    return {
      report: (await getFieldReport(pool, id, nowIso()))!,
      case: (await getCaseDetail(pool, created.id)) ?? created,
    };
  }

  async function reject(
    actor: Actor,
    id: number,
    body: { reason: RejectReason; duplicateOfCaseId?: number; note?: string },
  ): Promise<FieldReport> {
    const r = await pending(actor, id);
    if (body.reason === 'duplicate') {
      if (!body.duplicateOfCaseId) {
        throw new HubError('HUB_ERR_BAD_REQUEST', 'a duplicate names the case it duplicates');
      }
      await cases.read(actor, body.duplicateOfCaseId);
    }
    const at = nowIso();
    const d = {
      reason: body.reason,
      note: body.note ?? null,
      duplicateOfCaseId: body.duplicateOfCaseId ?? null,
    };
    const ok = await decideReport(pool, id, {
      state: 'rejected',
      at,
      by: actor.username,
      rejectReason: d.reason,
      rejectNote: d.note,
      duplicateOfCaseId: d.duplicateOfCaseId,
    });
    if (!ok) throw new HubError('HUB_ERR_REPORT_STATE', `report ${r.code} was decided meanwhile`);
    const merged = await rejectMergedInto(pool, id, { at, ...d });
    await changed('rejected', [id, ...merged]);
    return (await getFieldReport(pool, id, nowIso()))!;
  }

  async function merge(
    actor: Actor,
    id: number,
    into: { reportId?: number; caseId?: number },
  ): Promise<FieldReport> {
    const r = await pending(actor, id);
    let caseId: number | null = null;
    let mergedIntoId: number | null = null;
    if (into.reportId !== undefined) {
      if (into.reportId === id) throw new HubError('HUB_ERR_BAD_REQUEST', 'not into itself');
      const target = await readable(actor, into.reportId);
      if (target.state === 'merged' || target.state === 'rejected') {
        throw new HubError('HUB_ERR_REPORT_STATE', `report ${target.code} is ${target.state}`);
      }
      mergedIntoId = target.id;
      caseId = target.caseId;
    } else if (into.caseId !== undefined) {
      const c = await cases.read(actor, into.caseId);
      if (c.state === 'closed' || c.state === 'cancelled') {
        throw new HubError('HUB_ERR_CASE_TRANSITION', `case ${c.code} is ${c.state}`);
      }
      caseId = c.id;
    } else {
      throw new HubError('HUB_ERR_BAD_REQUEST', 'merge into a reportId or a caseId');
    }
    const ok = await decideReport(pool, id, {
      state: 'merged',
      at: nowIso(),
      by: actor.username,
      caseId,
      mergedIntoId,
    });
    if (!ok) throw new HubError('HUB_ERR_REPORT_STATE', `report ${r.code} was decided meanwhile`);
    await changed('merged', [id]);
    return (await getFieldReport(pool, id, nowIso()))!;
  }

  function publicView(r: FieldReport, cats: readonly Category[]): PublicReportView {
    const status = publicReportStatus(r.state, r.caseState);
    return {
      code: r.code,
      status,
      statusLabel: publicReportStatusLabels[status],
      categoryCode: r.categoryCode,
      categoryLabel: cats.find((c) => c.code === r.categoryCode)?.label ?? null,
      createdAt: r.createdAt,
      closedAt: status === 'closed' ? r.caseClosedAt : null,
      canRate: status === 'closed' && r.rating === null,
      rating: r.rating,
    };
  }

  async function byCode(code: string): Promise<FieldReport> {
    const r = await getFieldReportByCode(pool, code.toUpperCase(), nowIso());
    if (!r) throw new HubError('HUB_ERR_REPORT_UNKNOWN');
    return r;
  }

  // ---- On-site verification (核查) ----

  /** Whether inspectors verify the cases of `gridCode` (CASE_VERIFY_BY, docs/cases.md). */
  async function inspectorsFor(gridCode: string | null): Promise<number[]> {
    if (options.verifyBy === 'control_room' || !gridCode) return [];
    return inspectorsOfGrid(pool, gridCode);
  }

  const verifyDueAt = (handledAt: string | null): string | null =>
    handledAt
      ? new Date(Date.parse(handledAt) + options.verifyMinutes * 60_000).toISOString()
      : null;

  // A handled case goes to the inspectors of its grid (this node made the change).
  cases.onChange((change) => {
    if (change.action !== 'handle' || change.case.state !== 'handled') return;
    const c = change.case;
    void inspectorsFor(c.gridCode)
      .then((userIds) => {
        if (userIds.length === 0) return;
        const task: VerificationTask = {
          caseId: c.id,
          caseCode: c.code,
          title: c.title,
          categoryCode: c.categoryCode,
          gridCode: c.gridCode,
          lat: c.lat,
          lon: c.lon,
          handledAt: c.handledAt!,
          verifyDueAt: verifyDueAt(c.handledAt)!,
          overdue: false,
        };
        emit({ type: 'verification', userIds, request: { task } });
      })
      .catch((err: unknown) => logger.warn({ err }, 'verification request not sent'));
  });

  async function verify(
    actor: Actor,
    caseId: number,
    body: { result: VerificationResult; note: string | null; photos: readonly StoredPhoto[] },
  ): Promise<{ case: CaseDetail; verification: Verification }> {
    const c = await cases.read(actor, caseId);
    const asInspector = actor.role === 'inspector';
    if (asInspector && options.verifyBy === 'control_room') {
      throw new HubError('HUB_ERR_VERIFY_NOT_YOURS', 'CASE_VERIFY_BY is control_room');
    }
    if (c.state !== 'handled') {
      throw new HubError('HUB_ERR_CASE_TRANSITION', `case ${c.code} is ${c.state}, not handled`);
    }
    if (body.result === 'passed' && body.photos.length === 0) {
      throw new HubError('HUB_ERR_PHOTO_REQUIRED', 'an on-site verification shows the fix');
    }
    if (body.result === 'failed' && !body.note?.trim()) {
      throw new HubError('HUB_ERR_BAD_REQUEST', 'a failed verification needs a note (the reason)');
    }
    const photoIds: number[] = [];
    for (const p of body.photos) {
      const name = await savePhoto(casePhotoDir(c.id), p);
      const photo = await insertCasePhoto(pool, {
        caseId: c.id,
        fileName: name,
        contentType: p.contentType,
        bytes: p.bytes.length,
        uploadedBy: actor.id,
      });
      photoIds.push(Number(photo.id));
    }
    const at = nowIso();
    let after: CaseDetail;
    if (body.result === 'passed') {
      await cases.act(actor, c.id, 'verify', { note: body.note ?? '现场核查通过', photoIds });
      after = await cases.act(actor, c.id, 'close', {});
    } else {
      after = await cases.act(actor, c.id, 'rework', { reason: body.note!, photoIds });
    }
    const verification = await insertVerification(pool, {
      caseId: c.id,
      result: body.result,
      note: body.note,
      photoIds,
      inspectorId: actor.id,
      inspectorName: actor.username,
      byRole: asInspector ? 'inspector' : 'control_room',
      handledAt: c.handledAt,
      dueAt: verifyDueAt(c.handledAt),
      at,
    });
    // The case's reports follow it: their reporters and the queue see the outcome.
    const linked = await listFieldReports(
      pool,
      { area: null, limit: 1000, offset: 0, caseId: c.id },
      nowIso(),
    );
    await changed(
      'updated',
      linked.map((r) => r.id),
    );
    return { case: after, verification };
  }

  return {
    options,
    categories,
    category,
    onEvent(listener: (e: FieldReportEvent) => void): void {
      listeners.push(listener);
    },
    create,
    accept,
    reject,
    merge,
    async get(actor: Actor, id: number): Promise<QueueItem> {
      return withDuplicates(await readable(actor, id));
    },
    async list(
      actor: Actor,
      q: { state?: string; source?: string; mine?: boolean; limit: number; offset: number },
    ): Promise<FieldReport[]> {
      const own = actor.role === 'inspector' || q.mine === true;
      return listFieldReports(
        pool,
        {
          state: q.state,
          source: q.source,
          reporterId: own ? (actor.id ?? -1) : null,
          area: own ? null : caseScopeOf(actor).area,
          limit: q.limit,
          offset: q.offset,
        },
        nowIso(),
      );
    },
    async queue(actor: Actor): Promise<QueueItem[]> {
      const reports = await listFieldReports(
        pool,
        {
          state: 'reported',
          area: caseScopeOf(actor).area,
          limit: 500,
          offset: 0,
          oldestFirst: true,
        },
        nowIso(),
      );
      return Promise.all(reports.map(withDuplicates));
    },
    /** A report's photo file, for who may read the report. */
    async photo(actor: Actor, reportId: number, photoId: number) {
      const r = await readable(actor, reportId);
      const p = (await listReportPhotos(pool, r.id)).find((x) => x.id === photoId);
      if (!p) throw new HubError('HUB_ERR_NOT_FOUND', 'no such photo');
      return { ...p, path: path.join(reportPhotoDir(r.id), p.fileName) };
    },
    async publicStatus(code: string): Promise<PublicReportView> {
      return publicView(await byCode(code), await categories());
    },
    async rate(
      code: string,
      rating: SatisfactionRating,
      comment: string | null,
    ): Promise<{ code: string; rating: SatisfactionRating }> {
      const r = await byCode(code);
      if (publicReportStatus(r.state, r.caseState) !== 'closed') {
        throw new HubError('HUB_ERR_RATING_NOT_OPEN');
      }
      if (!(await insertRating(pool, { reportId: r.id, rating, comment, at: nowIso() }))) {
        throw new HubError('HUB_ERR_RATING_EXISTS');
      }
      await changed('updated', [r.id]);
      return { code: r.code, rating };
    },
    async putCategory(o: { code: string; zh: string; en: string; public: boolean }) {
      await putCategoryOverride(pool, o);
      categoriesCache = null;
    },
    async verificationTasks(actor: Actor): Promise<VerificationTask[]> {
      if (options.verifyBy === 'control_room' && actor.role === 'inspector') return [];
      return verificationTasks(pool, {
        area: caseScopeOf(actor).area,
        verifyMinutes: options.verifyMinutes,
        nowIso: nowIso(),
      });
    },
    verify,
    async verifications(actor: Actor, caseId: number): Promise<Verification[]> {
      const c = await cases.read(actor, caseId);
      return listVerifications(pool, c.id);
    },
    /** The case's timeline, for tests and screens that show a report's fate. */
    timeline: (caseId: number) => caseTimeline(pool, caseId),
  };
}

export type FieldReportService = ReturnType<typeof createFieldReportService>;
