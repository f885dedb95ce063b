import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import type { FieldReportService } from '../cases/index.js';
import {
  HubError,
  categoryMajors,
  satisfactionRatings,
  type SatisfactionRating,
} from '../domain/index.js';
import { numberField, readPhotoForm, requiredNumber, textField } from './multipart-photos.js';

export interface PublicRouteDeps {
  readonly fieldReports: FieldReportService;
  /** PUBLIC_REPORTS_PER_MINUTE: per client address and per device fingerprint. */
  readonly perMinute: number;
  readonly metricsRegistry?: Registry;
  readonly now?: () => number;
}

/** Photos a citizen's report may carry. */
const maxPublicPhotos = 3;
const windowMs = 60_000;

/**
 * A sliding one-minute window per key, in this process (a cluster behind a
 * load balancer that keeps a client on one node counts per node).
 */
export function createMinuteLimiter(limit: number, now: () => number = Date.now) {
  const hits = new Map<string, number[]>();
  return {
    /** Counts a hit for every key unless one of them is over the limit; returns the refusing key's index. */
    take(keys: readonly (string | null)[]): number {
      const t = now();
      if (hits.size > 50_000) {
        for (const [k, v] of hits) if (v[v.length - 1]! <= t - windowMs) hits.delete(k);
      }
      const live = keys.map((k) => {
        if (k === null) return null;
        const recent = (hits.get(k) ?? []).filter((x) => x > t - windowMs);
        hits.set(k, recent);
        return recent;
      });
      const over = live.findIndex((r) => r !== null && r.length >= limit);
      if (over >= 0) return over;
      for (const r of live) r?.push(t);
      return -1;
    },
  };
}

function counter(registry: Registry | undefined, name: string, help: string, labels: string[]) {
  if (!registry) return null;
  const existing = registry.getSingleMetric(name);
  return (
    (existing as Counter<string> | undefined) ??
    new Counter({ name, help, labelNames: labels, registers: [registry] })
  );
}

/**
 * The citizens' channel (issue #16, item 5): no login (`config.public`),
 * nothing personal answered. A citizen's address and fingerprint are kept as
 * salted hashes only; the salt is this process's, so they link nothing across
 * restarts.
 */
export function registerPublicRoutes(api: FastifyInstance, deps: PublicRouteDeps): void {
  const { fieldReports } = deps;
  const limiter = createMinuteLimiter(deps.perMinute, deps.now);
  const salt = randomBytes(16);
  const hash = (kind: string, v: string) =>
    createHash('sha256').update(salt).update(kind).update(v).digest('hex');
  const accepted = counter(
    deps.metricsRegistry,
    'hub_public_reports_total',
    'Reports citizens sent through the public channel.',
    [],
  );
  const refused = counter(
    deps.metricsRegistry,
    'hub_public_reports_refused_total',
    'Public reports refused by the abuse limits, by the limit that refused them.',
    ['by'],
  );
  const open = { config: { public: true } } as const;

  api.get('/public/categories', { ...open, schema: { tags: ['public'] } }, async () => {
    const categories = (await fieldReports.categories()).filter((c) => c.public);
    const used = new Set(categories.map((c) => c.majorCode));
    return { majors: categoryMajors.filter((m) => used.has(m.code)), categories };
  });

  api.post('/public/reports', { ...open, schema: { tags: ['public'] } }, async (req, reply) => {
    const header = req.headers['x-device-fingerprint'];
    const headerPrint = typeof header === 'string' ? header.trim() : '';
    // Counted before the body is read: a flood costs no photo parsing.
    const addressKey = `a:${req.ip}`;
    const printKey = headerPrint ? `f:${headerPrint.slice(0, 128)}` : null;
    const over = limiter.take([addressKey, printKey]);
    if (over >= 0) {
      refused?.inc({ by: over === 0 ? 'address' : 'fingerprint' });
      void reply.header('retry-after', '60');
      throw new HubError('HUB_ERR_PUBLIC_RATE_LIMITED');
    }
    const { fields, photos } = await readPhotoForm(req, maxPublicPhotos);
    const fieldPrint = textField(fields, 'fingerprint', 128);
    if (!headerPrint && fieldPrint && limiter.take([`f:${fieldPrint}`]) >= 0) {
      refused?.inc({ by: 'fingerprint' });
      void reply.header('retry-after', '60');
      throw new HubError('HUB_ERR_PUBLIC_RATE_LIMITED');
    }
    const fingerprint = headerPrint || fieldPrint || null;
    const categoryCode = textField(fields, 'categoryCode', 5);
    if (!categoryCode) throw new HubError('HUB_ERR_BAD_REQUEST', 'categoryCode is required');
    const cat = await fieldReports.category(categoryCode);
    if (!cat.public)
      throw new HubError('HUB_ERR_CATEGORY_UNKNOWN', `${categoryCode} is not offered`);
    const report = await fieldReports.create({
      source: 'citizen',
      reporter: null,
      categoryCode,
      lat: requiredNumber(fields, 'lat', -90, 90),
      lon: requiredNumber(fields, 'lon', -180, 180),
      accuracyM: numberField(fields, 'accuracy', 0, 100_000) ?? null,
      note: textField(fields, 'note', 500) ?? null,
      patrolId: null,
      photos,
      clientHash: hash('address', req.ip),
      fingerprintHash: fingerprint ? hash('fingerprint', fingerprint) : null,
    });
    accepted?.inc();
    const view = await fieldReports.publicStatus(report.code);
    return reply.status(201).send({
      code: view.code,
      status: view.status,
      statusLabel: view.statusLabel,
      createdAt: view.createdAt,
    });
  });

  const codeParams = {
    type: 'object',
    required: ['code'],
    properties: { code: { type: 'string', pattern: '^[0-9A-Za-z]{12}$' } },
  } as const;

  api.get<{ Params: { code: string } }>(
    '/public/reports/:code',
    { ...open, schema: { tags: ['public'], params: codeParams } },
    async (req) => fieldReports.publicStatus(req.params.code),
  );

  api.post<{ Params: { code: string }; Body: { rating: SatisfactionRating; comment?: string } }>(
    '/public/reports/:code/rating',
    {
      ...open,
      schema: {
        tags: ['public'],
        params: codeParams,
        body: {
          type: 'object',
          required: ['rating'],
          additionalProperties: false,
          properties: {
            rating: { enum: [...satisfactionRatings] },
            comment: { type: 'string', maxLength: 500 },
          },
        },
      },
    },
    async (req, reply) =>
      reply
        .status(201)
        .send(
          await fieldReports.rate(
            req.params.code,
            req.body.rating,
            req.body.comment?.trim() || null,
          ),
        ),
  );
}
