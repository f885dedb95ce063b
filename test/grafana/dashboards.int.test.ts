import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  createPool,
  insertMissingRules,
  migrate,
  seedDemoCityIfEmpty,
  setGrafanaPassword,
  type Pool,
} from '../../src/db/index.js';
import { defaultRulePack } from '../../src/rules/index.js';
import { backends, type TestDatabase } from '../support/databases.js';
import { expandGrafanaSql, variablesUsed, type VariableValues } from '../support/grafana-sql.js';

const repo = (p: string) => new URL(`../../${p}`, import.meta.url);
const logger = pino({ level: 'silent' });

interface Target {
  refId: string;
  datasource: { type: string; uid: string };
  rawSql?: string;
  expr?: string;
  format?: string;
}
interface Panel {
  id: number;
  title: string;
  type: string;
  description?: string;
  datasource: { type: string; uid: string };
  targets: Target[];
  fieldConfig: { defaults: { thresholds?: { steps: { value: number | null }[] } } };
}
interface Variable {
  name: string;
  type: string;
  query: string;
  multi: boolean;
  includeAll: boolean;
  datasource: { uid: string };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

const dashboardDir = repo('grafana/dashboards/');
const files = (await readdir(dashboardDir)).filter((f) => f.endsWith('.json')).sort();
const dashboards = await Promise.all(
  files.map(async (f) => JSON.parse(await readFile(new URL(f, dashboardDir), 'utf8')) as Dashboard),
);
const datasources = parse(
  await readFile(repo('grafana/provisioning/datasources/hub.yaml'), 'utf8'),
) as { apiVersion: number; datasources: { uid: string; type: string; user?: string }[] };
const providers = parse(
  await readFile(repo('grafana/provisioning/dashboards/hub.yaml'), 'utf8'),
) as { apiVersion: number; providers: { type: string; options: { path: string } }[] };

/**
 * Grafana without a Grafana server (issue #14): the provisioning files parse
 * and agree with the dashboards; every dashboard is well formed; and every
 * panel's SQL, expanded as Grafana expands it, runs on a seeded database as
 * the read-only role over three time ranges.
 */
describe('Grafana provisioning and dashboards', () => {
  it('provisions the TimescaleDB source as the read-only role, and Prometheus, with fixed uids', () => {
    expect(datasources.apiVersion).toBe(1);
    const byUid = Object.fromEntries(datasources.datasources.map((d) => [d.uid, d]));
    expect(byUid['ufh-timescaledb']).toMatchObject({
      type: 'grafana-postgresql-datasource',
      user: 'hub_grafana',
    });
    expect(byUid['ufh-prometheus']).toMatchObject({ type: 'prometheus' });
    expect(providers.providers[0]).toMatchObject({ type: 'file' });
  });

  it('has the dashboards the issue names, each with a unique fixed uid', () => {
    const uids = dashboards.map((d) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
    expect(uids.every((u) => /^ufh-[a-z-]+$/.test(u))).toBe(true);
    expect(uids).toEqual(
      expect.arrayContaining([
        'ufh-city-overview',
        'ufh-waterlogging',
        'ufh-dust-noise',
        'ufh-gas',
        'ufh-pump-stations',
        'ufh-elevators',
        'ufh-cases-kpis',
        'ufh-hub-operations',
      ]),
    );
  });

  it.each(dashboards.map((d) => [d.uid, d] as const))(
    '%s: panels use a provisioned source, unique ids, and only variables it defines',
    (_uid, d) => {
      const provisioned = new Set(datasources.datasources.map((s) => s.uid));
      const ids = d.panels.map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      const defined = new Set(d.templating.list.map((v) => v.name));
      for (const p of d.panels) {
        expect(provisioned.has(p.datasource.uid), p.title).toBe(true);
        expect(p.targets.length, p.title).toBeGreaterThan(0);
        for (const t of p.targets) {
          expect(t.datasource.uid).toBe(p.datasource.uid);
          for (const name of variablesUsed(t.rawSql ?? t.expr ?? '')) {
            expect(defined.has(name), `${p.title} uses $${name}`).toBe(true);
          }
        }
      }
      for (const v of d.templating.list) {
        expect(provisioned.has(v.datasource.uid)).toBe(true);
        for (const name of variablesUsed(v.query)) expect(defined.has(name)).toBe(true);
      }
      // Template variables for district and street everywhere SQL is.
      if (d.panels.some((p) => p.targets.some((t) => t.rawSql))) {
        expect([...defined]).toEqual(expect.arrayContaining(['district', 'street']));
      }
    },
  );

  it('draws the default rule pack thresholds as lines on the panels that name a rule', () => {
    let checked = 0;
    for (const d of dashboards) {
      for (const p of d.panels) {
        const rule = /rule ([a-z_]+\.[a-z_0-9]+)/.exec(p.description ?? '')?.[1];
        if (!rule) continue;
        const def = defaultRulePack.find((r) => r.id === rule);
        expect(def, rule).toBeDefined();
        const s = def!.settings as {
          levels?: { value: number }[];
          raise?: { value: unknown }[];
          when?: { value: unknown }[];
          schedule?: { nightLevels?: { value: number }[] };
        };
        const fromRule = [
          ...(s.levels ?? []).map((l) => l.value),
          ...(s.schedule?.nightLevels ?? []).map((l) => l.value),
          ...(s.raise ?? []).map((c) => c.value),
          ...(s.when ?? []).map((c) => c.value),
        ].filter((v): v is number => typeof v === 'number');
        const lines = p.fieldConfig.defaults
          .thresholds!.steps.map((st) => st.value)
          .filter((v): v is number => v !== null);
        for (const v of lines) expect(fromRule, `${p.title}: ${v}`).toContain(v);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(6);
  });
});

const sqlDashboards = dashboards.filter((d) =>
  d.panels.some((p) => p.targets.some((t) => t.rawSql)),
);

describe.each(backends())('every dashboard query on $name, as the read-only role', (backend) => {
  let database: TestDatabase;
  let pool: Pool;
  let reader: pg.Client;
  let dataDir: string;
  const now = new Date();

  beforeAll(async () => {
    database = await backend.create();
    const single = backend.name === 'timescaledb';
    pool = createPool(database.url, single ? 1 : 2, logger);
    await migrate(pool, logger);
    await insertMissingRules(pool, defaultRulePack);
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'grafana-seed-'));
    await seedDemoCityIfEmpty(pool, { dataDir, deviceCount: 21, logger });
    // 40 days of hourly rollups for every device and the metrics the panels read.
    await pool.query(`
      INSERT INTO telemetry_5m (device_id, metric, bucket, n, sum, min, max)
      SELECT d.id, m.metric, b, 12, 12 * v, v * 0.8, v * 1.2
      FROM devices d
      JOIN (VALUES ('streetlight', 'on'), ('waterlogging', 'depth'), ('waterlogging', 'rain_mm_h'),
                   ('dust_noise', 'pm10'), ('dust_noise', 'noise'), ('gas', 'ch4'), ('gas', 'pressure'),
                   ('pump_station', 'well_level'), ('pump_station', 'pump_1_running')) m (type, metric)
        ON m.type = d.type
      CROSS JOIN generate_series(date_trunc('hour', now()) - interval '40 days', now(), interval '1 hour') b
      CROSS JOIN LATERAL (SELECT CASE WHEN m.metric IN ('on', 'pump_1_running')
                                      THEN (extract(hour FROM b)::int % 2)::float8
                                      ELSE 10 + extract(hour FROM b)::float8 END AS v) x`);
    await pool.query(`
      INSERT INTO device_latest (device_id, time, data)
      SELECT id, now(), CASE type WHEN 'streetlight' THEN '{"on": true}'::jsonb
        WHEN 'waterlogging' THEN '{"depth": 22.5}' WHEN 'gas' THEN '{"ch4": 3}'
        WHEN 'dust_noise' THEN '{"pm10": 180}' ELSE '{}' END FROM devices`);
    await pool.query(`
      INSERT INTO device_status (device_id, online, last_seen)
      SELECT id, row_number() OVER (ORDER BY id) % 3 <> 0, now() FROM devices`);
    // Alarms, open and cleared, of every type, over the last 20 days.
    await pool.query(`
      INSERT INTO alarms (source, source_kind, device_id, rule_id, rule_version, facility_type, grid_code, severity, state,
                          title, metric, first_reading_at, last_reading_at, opened_at, cleared_at)
      SELECT d.id, 'device', d.id, r.id, 1, d.type, d.grid_code, r.severity,
             CASE WHEN i = 0 THEN 'open' ELSE 'cleared' END, r.title, 'x',
             now() - i * interval '1 day', now() - i * interval '1 day', now() - i * interval '1 day',
             CASE WHEN i = 0 THEN NULL ELSE now() END
      FROM devices d
      JOIN LATERAL (SELECT id, severity, title FROM rules WHERE facility_type = d.type ORDER BY id LIMIT 1) r ON true
      CROSS JOIN generate_series(0, 19, 7) i`);
    // Cases in several states, some closed late, over the last 20 days.
    await pool.query(`
      INSERT INTO cases (code, state, kind, severity, title, facility_type, device_id, grid_code,
                         created_at, due_at, closed_at, overdue)
      SELECT 'AJ-TEST-' || d.id || '-' || i,
             (ARRAY['registered', 'dispatched', 'closed', 'closed', 'cancelled'])[1 + i % 5],
             'component', 'major', 'seeded', d.type, d.id, d.grid_code,
             now() - i * interval '1 day', now() - i * interval '1 day' + interval '2 days',
             CASE WHEN i % 5 IN (2, 3) THEN now() - i * interval '1 day' + (i % 4) * interval '1 day' END,
             i % 3 = 0
      FROM devices d CROSS JOIN generate_series(0, 19, 3) i`);

    if (single) {
      // The in-process TimescaleDB has one connection: the role is taken on it.
      reader = new pg.Client({ connectionString: database.url });
      await reader.connect();
      await reader.query('SET ROLE hub_grafana');
    } else {
      expect(await setGrafanaPassword(pool, 'grafana-test-password')).toBe(true);
      const url = new URL(database.url);
      url.username = 'hub_grafana';
      url.password = 'grafana-test-password';
      reader = new pg.Client({ connectionString: url.toString() });
      await reader.connect();
    }
  });
  afterAll(async () => {
    await reader?.end();
    await pool?.end();
    await database?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('may not read secrets, users, sessions or tokens', async () => {
    for (const sql of [
      'SELECT secret_hash FROM devices',
      'SELECT * FROM users',
      'SELECT * FROM sessions',
      'SELECT * FROM integration_tokens',
      'SELECT * FROM audit_log',
      'DELETE FROM cases',
    ]) {
      await expect(reader.query(sql), sql).rejects.toThrow(/permission denied/);
    }
  });

  const ranges = [
    { name: 'the last hour', ms: 3_600_000 },
    { name: 'the last day', ms: 86_400_000 },
    { name: 'the last 30 days', ms: 30 * 86_400_000 },
  ];

  it.each(sqlDashboards.map((d) => [d.uid, d] as const))(
    '%s: every variable and panel query runs over three ranges, time series in time order',
    async (_uid, d) => {
      // All of each variable: its own query's values, as Grafana resolves them in order.
      const all: Record<string, string[]> = {};
      const range = { from: new Date(now.getTime() - 86_400_000), to: now };
      for (const v of d.templating.list) {
        const { rows } = await reader.query(expandGrafanaSql(v.query, range, all));
        all[v.name] = rows.map((r: Record<string, unknown>) =>
          String(r.__value ?? Object.values(r)[0]),
        );
        expect(all[v.name]!.length, v.name).toBeGreaterThan(0);
      }
      const one: VariableValues = Object.fromEntries(
        Object.entries(all).map(([k, vals]) => [k, [vals[0]!]]),
      );
      const empty = new Set(
        d.panels.filter((p) => p.targets.some((t) => t.rawSql)).map((p) => p.title),
      );
      for (const p of d.panels) {
        for (const t of p.targets) {
          if (!t.rawSql) continue;
          for (const r of ranges) {
            for (const values of [all, one]) {
              const sql = expandGrafanaSql(
                t.rawSql,
                { from: new Date(now.getTime() - r.ms), to: now },
                values,
              );
              const { rows } = await reader.query(sql).catch((err: Error) => {
                throw new Error(`${d.uid} / ${p.title} over ${r.name}: ${err.message}\n${sql}`);
              });
              if (rows.length > 0) empty.delete(p.title);
              if (t.format === 'time_series') {
                const times = rows.map((row: { time: unknown }) => Number(row.time));
                expect(
                  times.every((x) => Number.isFinite(x)),
                  p.title,
                ).toBe(true);
                expect(times, `${p.title} in time order`).toEqual([...times].sort((a, b) => a - b));
              }
            }
          }
        }
      }
      // The seeded city shows on every panel: each has rows over some range.
      expect([...empty], 'panels without data').toEqual([]);
    },
  );
});
