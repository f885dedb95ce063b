import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlarmRecord } from '../../src/domain/index.js';
import { loadConfig } from '../../src/hub/config.js';
import { startHub, type Hub } from '../../src/hub/hub.js';
import { createPrimaryDatabase, type TestDatabase } from '../support/databases.js';
import { startTestHub, type TestHub } from '../support/hub.js';

/**
 * The rules engine in the real hub against PostgreSQL, driven in-process with
 * synthetic reading times and an explicit `tick(now)`: the alarm lifecycle,
 * the rules REST API, and state that survives a restart.
 */
const t0 = Date.UTC(2026, 10, 23, 2, 0); // 10:00 China Standard Time: daytime
const min = (m: number) => t0 + m * 60_000;

describe('the alarm lifecycle', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub();
  });
  afterAll(async () => {
    await t?.stop();
  });
  const rows = async (sql: string, params: unknown[] = []) =>
    (await t.hub.db.pool.query(sql, params)).rows;
  const device = (type: keyof TestHub['devices']) => {
    const d = t.hub.directory.get(t.devices[type].id)!;
    return d;
  };

  it('keeps one alarm whose severity follows the water, with count, peak and an explanation', async () => {
    const wl = device('waterlogging');
    const events: string[] = [];
    t.hub.alarms.onAlarm((e) => {
      if (e.alarm.source === wl.id && e.alarm.ruleId === 'waterlogging.depth')
        events.push(`${e.kind} ${e.alarm.severity}`);
    });
    for (const [m, depth] of [
      [0, 16],
      [1, 18],
      [2, 27],
      [3, 30],
      [4, 42],
      [5, 41],
    ] as const)
      t.hub.alarms.handle(wl, [{ timeMs: min(m), metrics: { depth } }]);
    await t.hub.alarms.settled();
    await t.hub.alarms.flushHolds();
    const [alarm] = await rows(
      `SELECT rule_id, rule_version, severity, state, threshold, last_value, peak_value, count,
              first_reading_at, last_reading_at, source_kind, explain
       FROM alarms WHERE source = $1 AND rule_id = 'waterlogging.depth'`,
      [wl.id],
    );
    expect(alarm).toMatchObject({
      rule_version: 1,
      severity: 'critical',
      state: 'open',
      threshold: 40,
      peak_value: 42,
      source_kind: 'device',
      explain: { kind: 'levels', settings: { metric: 'depth', forSeconds: 0 } },
    });
    expect(alarm.count).toBe(6);
    expect(new Date(alarm.first_reading_at).getTime()).toBe(min(0));
    expect(new Date(alarm.last_reading_at).getTime()).toBe(min(5));
    expect(events).toEqual(['opened warning', 'updated major', 'updated critical']);
    await t.hub.cases.settled();
    const cases = await rows(
      `SELECT c.id, c.severity FROM cases c JOIN alarms a ON a.id = c.alarm_id
       WHERE a.source = $1 AND a.rule_id = 'waterlogging.depth'`,
      [wl.id],
    );
    // One case, which followed its alarm to critical, with the change on its timeline.
    expect(cases).toEqual([{ id: cases[0].id, severity: 'critical' }]);
    const timeline = await rows(
      `SELECT action, note FROM case_events WHERE case_id = $1 AND action = 'severity' ORDER BY version`,
      [cases[0].id],
    );
    expect(timeline.map((e) => e.note)).toEqual(['warning → major', 'major → critical']);

    t.hub.alarms.handle(wl, [{ timeMs: min(6), metrics: { depth: 4 } }]);
    await t.hub.alarms.settled();
    expect(events.at(-1)).toBe('cleared critical');
  });

  it('counts every reading that held an alarm open, those that came before its open was stored too', async () => {
    const gas = device('gas');
    // 60 %LEL held 30 s opens it; the readings after hold it open.
    t.hub.alarms.handle(gas, [
      { timeMs: min(100), metrics: { ch4: 60 } },
      { timeMs: min(100) + 30_000, metrics: { ch4: 61 } },
      { timeMs: min(101), metrics: { ch4: 62 } },
    ]);
    // Flushed while the open is still being stored: the hold waits for it.
    const early = t.hub.alarms.flushHolds();
    t.hub.alarms.handle(gas, [{ timeMs: min(102), metrics: { ch4: 63 } }]);
    await early;
    await t.hub.alarms.settled();
    await t.hub.alarms.flushHolds();
    const [alarm] = await rows(
      `SELECT count, peak_value, last_value FROM alarms WHERE source = $1 AND rule_id = 'gas.ch4' AND state = 'open'`,
      [gas.id],
    );
    // The open, then two readings that held it: none lost.
    expect(alarm).toMatchObject({ count: 3, peak_value: 63, last_value: 63 });
  });

  it('after six transitions in an hour holds a flapping cover open as one alarm until it has been stable', async () => {
    const mh = device('manhole');
    for (let i = 0; i < 8; i++)
      t.hub.alarms.handle(mh, [
        { timeMs: min(10 + i), metrics: { tilt: i % 2 === 0 ? 30 : 1, open: i % 2 === 0 } },
      ]);
    await t.hub.alarms.settled();
    const all = await rows(
      `SELECT id, state, flapping FROM alarms WHERE source = $1 AND rule_id = 'manhole.displaced'
       ORDER BY id`,
      [mh.id],
    );
    // Opens 1, 3 and 5 are alarms; clear 6 makes it flapping; open 7 and clear 8 change nothing.
    expect(all.map((a) => [a.state, a.flapping])).toEqual([
      ['cleared', false],
      ['cleared', false],
      ['open', true],
    ]);
    const alarms = [all[2]];
    await t.hub.alarms.tick(min(17) + 5 * 60_000);
    await t.hub.alarms.settled();
    expect((await rows(`SELECT state FROM alarms WHERE id = $1`, [alarms[0].id]))[0].state).toBe(
      'open',
    );
    await t.hub.alarms.tick(min(17) + 16 * 60_000);
    await t.hub.alarms.settled();
    expect((await rows(`SELECT state FROM alarms WHERE id = $1`, [alarms[0].id]))[0].state).toBe(
      'cleared',
    );
  });

  it('lets an operator acknowledge an alarm once, over REST', async () => {
    const [open] = await rows(`SELECT id FROM alarms ORDER BY id LIMIT 1`);
    const post = (url: string, token = t.adminToken) =>
      fetch(`${t.httpUrl}${url}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
    expect((await fetch(`${t.httpUrl}/api/alarms/${open.id}/ack`, { method: 'POST' })).status).toBe(
      401,
    );
    const ack = await post(`/api/alarms/${open.id}/ack`);
    expect(ack.status).toBe(200);
    const body = (await ack.json()) as AlarmRecord;
    // The acknowledger is the logged-in user.
    expect(body).toMatchObject({ id: open.id, acknowledgedBy: 'admin' });
    expect(body.acknowledgedAt).not.toBeNull();
    const again = (await (await post(`/api/alarms/${open.id}/ack`)).json()) as AlarmRecord;
    expect(again.acknowledgedAt).toBe(body.acknowledgedAt);
    expect((await post(`/api/alarms/999999/ack`)).status).toBe(404);
  });
});

describe('a city in another time zone', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ CITY_TIMEZONE: 'Europe/Berlin' });
  });
  afterAll(async () => {
    await t?.stop();
  });
  const api = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${t.httpUrl}/api${url}`, {
      method,
      headers: {
        authorization: `Bearer ${t.adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return (await res.json()) as any;
  };

  it('stores the pack’s schedules in CITY_TIMEZONE and refuses a zone the runtime does not know', async () => {
    const noise = await api('GET', '/rules/dust_noise.noise');
    expect(noise.settings.schedule.timeZone).toBe('Europe/Berlin');
    const lamps = await api('GET', '/rules/streetlight.dark');
    expect(lamps.settings.hours.timeZone).toBe('Europe/Berlin');
    const bad = await api('POST', '/rules/validate', {
      kind: noise.kind,
      settings: {
        ...noise.settings,
        schedule: { ...noise.settings.schedule, timeZone: 'Mars/Olympus' },
      },
    });
    expect(bad.valid).toBe(false);
    expect(bad.problems.join(' ')).toContain('timeZone');
  });
});

describe('rules over REST', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub();
  });
  afterAll(async () => {
    await t?.stop();
  });
  const api = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${t.httpUrl}/api${url}`, {
      method,
      headers: {
        authorization: `Bearer ${t.adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // Response bodies are checked field by field below; a loose type keeps that readable.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: res.status, body: res.status === 204 ? null : ((await res.json()) as any) };
  };

  it('lists the pack, shows one rule, and validates settings against the rule kind', async () => {
    const list = await api('GET', '/rules');
    expect(list.body.rules.length).toBeGreaterThanOrEqual(20);
    const one = await api('GET', '/rules/gas.ch4');
    expect(one.body).toMatchObject({ id: 'gas.ch4', kind: 'levels', version: 1, overrides: [] });
    expect((await api('GET', '/rules/nope.rule')).body.code).toBe('HUB_ERR_RULE_UNKNOWN');
    const bad = await api('POST', '/rules/validate', { kind: 'levels', settings: { metric: 1 } });
    expect(bad.body.valid).toBe(false);
    expect(bad.body.problems.length).toBeGreaterThan(0);
    const good = await api('POST', '/rules/validate', {
      kind: 'rate',
      settings: { metric: 'depth', rise: 5, clearRise: 1, windowS: 600 },
    });
    expect(good.body).toEqual({ valid: true, problems: [] });
  });

  it('creates a rule, edits it to a new version and disables it, each taking effect without a restart', async () => {
    const gas = t.hub.directory.get(t.devices.gas.id)!;
    const rule = {
      id: 'gas.hot',
      facilityType: 'gas',
      kind: 'threshold',
      severity: 'minor',
      title: '调压箱温度高 Regulator hot',
      description: 'Temperature over 60 °C.',
      source: 'test: a city-defined rule',
      settings: { raise: [{ metric: 'temp', op: '>', value: 60 }], forSeconds: 0 },
    };
    expect((await api('POST', '/rules', { ...rule, settings: { raise: [] } })).body.code).toBe(
      'HUB_ERR_RULE_INVALID',
    );
    expect((await api('POST', '/rules', rule)).status).toBe(201);
    expect((await api('POST', '/rules', rule)).body.code).toBe('HUB_ERR_RULE_EXISTS');
    t.hub.alarms.handle(gas, [{ timeMs: min(0), metrics: { temp: 65 } }]);
    await t.hub.alarms.settled();
    expect(t.hub.alarms.isOpen(gas.id, 'gas.hot')).toBe(true);

    const edited = await api('PATCH', '/rules/gas.hot', {
      settings: { raise: [{ metric: 'temp', op: '>', value: 70 }], forSeconds: 0 },
    });
    expect(edited.body.version).toBe(2);
    expect((await api('POST', '/rules/gas.hot/disable')).body).toMatchObject({
      enabled: false,
      version: 3,
    });
    // Disabled: nothing would evaluate its open alarm again, so it is cleared.
    await t.hub.alarms.settled();
    expect(t.hub.alarms.isOpen(gas.id, 'gas.hot')).toBe(false);
    const retired = await t.hub.db.pool.query(`SELECT state FROM alarms WHERE rule_id = 'gas.hot'`);
    expect(retired.rows).toEqual([{ state: 'cleared' }]);
    const before = t.hub.alarms.counters.opened;
    const other = t.hub.directory.get(t.devices.gas.id)!;
    t.hub.alarms.handle(other, [{ timeMs: min(1), metrics: { temp: 99 } }]);
    await t.hub.alarms.settled();
    expect(t.hub.alarms.counters.opened).toBe(before);
    expect((await api('GET', '/rules/gas.hot')).body.versions).toEqual([1, 2, 3]);
  });

  it('overrides a rule for one device: that device gets its own limit, the others keep the pack’s', async () => {
    const wl = t.hub.directory.get(t.devices.waterlogging.id)!;
    const put = await api('PUT', `/rules/waterlogging.depth/overrides/device/${wl.id}`, {
      settings: { levels: [{ severity: 'major', value: 50 }] },
    });
    expect(put.status).toBe(200);
    t.hub.alarms.handle(wl, [{ timeMs: min(0), metrics: { depth: 45 } }]);
    await t.hub.alarms.settled();
    expect(t.hub.alarms.isOpen(wl.id, 'waterlogging.depth')).toBe(false);
    expect(
      (
        await api('PUT', `/rules/waterlogging.depth/overrides/grid/x`, {
          settings: { levels: 'deep' },
        })
      ).body.code,
    ).toBe('HUB_ERR_RULE_INVALID');
    expect(
      (await api('DELETE', `/rules/waterlogging.depth/overrides/device/${wl.id}`)).status,
    ).toBe(204);
    t.hub.alarms.handle(wl, [{ timeMs: min(1), metrics: { depth: 45 } }]);
    await t.hub.alarms.settled();
    expect(t.hub.alarms.isOpen(wl.id, 'waterlogging.depth')).toBe(true);
  });

  it('overrides a rule for one construction site, and merges an override into a nested setting', async () => {
    const dn = t.hub.directory.get(t.devices.dust_noise.id)!;
    const { rows } = await t.hub.db.pool.query<{ site: string }>(
      `SELECT attrs->>'site' AS site FROM devices WHERE id = $1`,
      [dn.id],
    );
    const site = encodeURIComponent(rows[0]!.site);
    const put = await api('PUT', `/rules/dust_noise.pm10/overrides/site/${site}`, {
      settings: { raise: [{ metric: 'pm10', op: '>', value: 100 }], forSeconds: 0 },
    });
    expect(put.body).toMatchObject({ scope: 'site', scopeId: rows[0]!.site });
    t.hub.alarms.handle(dn, [{ timeMs: min(0), metrics: { pm10: 120 } }]);
    await t.hub.alarms.settled();
    expect(t.hub.alarms.isOpen(dn.id, 'dust_noise.pm10')).toBe(true);
    // One field of the noise rule's night schedule: the rest of `schedule` stays.
    const night = await api('PUT', `/rules/dust_noise.noise/overrides/site/${site}`, {
      settings: { schedule: { nightLevels: [{ severity: 'major', value: 50 }] } },
    });
    expect(night.status).toBe(200);
    expect((await api('DELETE', `/rules/dust_noise.pm10/overrides/site/${site}`)).status).toBe(204);
  });
});

describe('area alarms', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('stores a silent street as one area alarm with its case, and clears it when the devices report again', async () => {
    // Seven demo devices only: let two silent devices make a street, for the test.
    const res = await fetch(`${t.httpUrl}/api/rules/all.offline`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminToken}` },
      body: JSON.stringify({
        settings: {
          factor: 3,
          areaMinDevices: 2,
          areaRatio: 0.5,
          correlationS: 900,
          deviceSeverity: 'minor',
          areaSeverity: 'major',
        },
      }),
    });
    expect(res.status).toBe(200);
    const later = Date.now() + 3 * 3600_000;
    await t.hub.alarms.tick(later);
    await t.hub.alarms.tick(later + 16 * 60_000);
    await t.hub.alarms.settled();
    await t.hub.cases.settled();
    const alarms = (
      await t.hub.db.pool.query(
        `SELECT a.source, a.source_kind, a.device_id, a.grid_code, a.severity, a.facility_type,
                c.grid_code AS case_grid
         FROM alarms a JOIN cases c ON c.alarm_id = a.id WHERE a.rule_id = 'all.offline'`,
      )
    ).rows;
    expect(t.hub.alarms.counters.errors).toBe(0);
    const streets = alarms.filter((a) => a.source_kind === 'street');
    expect(streets.length).toBeGreaterThan(0);
    for (const a of streets) {
      expect(a).toMatchObject({ device_id: null, severity: 'major', facility_type: 'all' });
      expect(a.source).toBe(`street:${a.grid_code}`);
      expect(a.case_grid).toBe(a.grid_code);
    }
    // Every device reports again: every offline alarm clears.
    for (const d of t.hub.directory.values())
      t.hub.alarms.handle(d, [{ timeMs: later + 17 * 60_000, metrics: {} }]);
    await t.hub.alarms.tick(later + 18 * 60_000);
    await t.hub.alarms.settled();
    const open = await t.hub.db.pool.query(
      `SELECT 1 FROM alarms WHERE rule_id = 'all.offline' AND state = 'open'`,
    );
    expect(open.rows).toEqual([]);
  });
});

describe('state that survives a restart', () => {
  let database: TestDatabase;
  let dataDir: string;
  let hub: Hub | null = null;
  const start = async () =>
    startHub(
      loadConfig({
        DATABASE_URL: database.url,
        DATA_DIR: dataDir,
        MQTT_PORT: '0',
        HTTP_PORT: '0',
        DEMO_DEVICE_COUNT: '7',
        LOG_LEVEL: 'silent',
      }),
      { logger: pino({ level: 'silent' }) },
    );
  beforeAll(async () => {
    database = await createPrimaryDatabase();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'hub-restart-'));
  });
  afterAll(async () => {
    await hub?.stop();
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('does not open an open alarm again, and continues a 15-minute window where it stopped', async () => {
    hub = await start();
    const ids = Object.fromEntries(hub.demoCredentials!.map((c) => [c.type, c.id]));
    const mh = hub.directory.get(ids.manhole!)!;
    const dn = hub.directory.get(ids.dust_noise!)!;
    hub.alarms.handle(mh, [{ timeMs: min(0), metrics: { tilt: 40, open: true } }]);
    // 10 of the 15 minutes over 200 µg/m³ before the restart.
    hub.alarms.handle(
      dn,
      Array.from({ length: 11 }, (_, i) => ({ timeMs: min(i), metrics: { pm10: 250 } })),
    );
    await hub.alarms.settled();
    await hub.stop();
    hub = null;

    hub = await start();
    const mh2 = hub.directory.get(mh.id)!;
    const dn2 = hub.directory.get(dn.id)!;
    hub.alarms.handle(mh2, [{ timeMs: min(20), metrics: { tilt: 45, open: true } }]);
    hub.alarms.handle(
      dn2,
      Array.from({ length: 6 }, (_, i) => ({ timeMs: min(11 + i), metrics: { pm10: 250 } })),
    );
    await hub.alarms.settled();
    const alarms = (
      await hub.db.pool.query(`SELECT source, rule_id, state FROM alarms ORDER BY id`)
    ).rows;
    expect(alarms).toEqual([
      { source: mh.id, rule_id: 'manhole.displaced', state: 'open' },
      { source: dn.id, rule_id: 'dust_noise.pm10', state: 'open' },
    ]);
    hub.alarms.handle(mh2, [{ timeMs: min(21), metrics: { tilt: 1, open: false } }]);
    await hub.alarms.settled();
    const cleared = await hub.db.pool.query(`SELECT state FROM alarms WHERE source = $1`, [mh.id]);
    expect(cleared.rows).toEqual([{ state: 'cleared' }]);
  });
});
