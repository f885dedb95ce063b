import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import type { FacilityType } from '../../src/domain/index.js';
import {
  authed,
  connectDevice,
  quietReading,
  startTestHub,
  waitFor,
  type TestHub,
} from '../support/hub.js';

/**
 * Issue 11, "one reading stops all storage, and a restart does not help":
 * readings PostgreSQL cannot store, sent over real MQTT, become dead letters
 * with a code while every other reading is stored; a spool left with poisoned
 * rows replays the good ones, dead-letters the bad ones and quarantines what
 * it cannot read; health and an alarm say so.
 */
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

async function stored(t: TestHub, deviceId: string): Promise<number[]> {
  const r = await t.hub.db.pool.query<{ ms: number }>(
    `SELECT (extract(epoch FROM time) * 1000)::float8 AS ms FROM telemetry WHERE device_id = $1 ORDER BY 1`,
    [deviceId],
  );
  return r.rows.map((x) => x.ms);
}

async function deadLetters(t: TestHub) {
  const r = await t.hub.db.pool.query<{ device_id: string; code: string; payload: string }>(
    `SELECT device_id, code, payload FROM dead_letters ORDER BY id`,
  );
  return r.rows;
}

const health = async (t: TestHub) =>
  (await (await fetch(`${t.httpUrl}/api/health`)).json()) as {
    status: string;
    storage: { problems: { code: string; message: string }[]; quarantine: { files: number } };
  };

describe('poisoned readings', () => {
  it('dead-letters a NUL, a lone surrogate and a NUL in raw bytes, and stores every good reading after them', async () => {
    const t = await startTestHub();
    cleanups.push(() => t.stop());
    const clients: MqttClient[] = [];
    cleanups.push(async () => clients.forEach((c) => c.end(true)));
    const connect = async (type: FacilityType) => {
      const c = await connectDevice(t.mqttUrl, t.devices[type]);
      clients.push(c);
      return c;
    };
    const lift = await connect('elevator');
    const topic = `devices/${t.devices.elevator.id}/telemetry`;
    // Sent as the devices send them: JSON text with \u escapes, and raw bytes.
    await lift.publishAsync(topic, String.raw`{"fault_code":"a\u0000b"}`, { qos: 1 });
    await lift.publishAsync(topic, String.raw`{"fault_code":"x\ud800"}`, { qos: 1 });
    await lift.publishAsync(topic, Buffer.from('bad\x00json', 'latin1'), { qos: 1 });

    const base = Date.now() - 3_600_000;
    const sent = new Map<string, number[]>();
    for (const type of Object.keys(t.devices) as FacilityType[]) {
      const device = t.devices[type];
      const c = type === 'elevator' ? lift : await connect(type);
      const times = Array.from({ length: 5 }, (_, i) => base + i * 1000);
      for (const [i, ts] of times.entries())
        await c.publishAsync(
          `devices/${device.id}/telemetry`,
          JSON.stringify({ ts, ...quietReading(type, i) }),
          { qos: 1 },
        );
      sent.set(device.id, times);
    }

    for (const [deviceId, times] of sent)
      await waitFor(
        async () => ((await stored(t, deviceId)).length === times.length ? true : undefined),
        `the readings of ${deviceId} stored`,
      );
    for (const [deviceId, times] of sent) expect(await stored(t, deviceId)).toEqual(times);
    const letters = await waitFor(async () => {
      const l = await deadLetters(t);
      return l.length >= 3 ? l : undefined;
    }, 'three dead letters');
    expect(letters.map((l) => [l.device_id, l.code])).toEqual([
      [t.devices.elevator.id, 'HUB_ERR_PAYLOAD_UNSTORABLE'],
      [t.devices.elevator.id, 'HUB_ERR_PAYLOAD_UNSTORABLE'],
      [t.devices.elevator.id, 'HUB_ERR_PAYLOAD_JSON'],
    ]);
    // The NUL byte could not be stored as it came: it shows as U+FFFD.
    expect(letters[2]!.payload).toBe('bad\uFFFDjson');
    expect(t.hub.ingest.writer.mode()).toBe('direct');
    expect(t.hub.ingest.writer.counters.spooledBatches).toBe(0);
    expect((await health(t)).status).toBe('ok');
  });

  it('replays a spool left with poisoned rows: good rows stored, bad ones dead-lettered, an unreadable segment quarantined', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hub-poisoned-spool-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const spoolDir = path.join(dataDir, 'spool');
    await mkdir(spoolDir, { recursive: true });
    // The rows name devices the database need not know: telemetry has no foreign key.
    const base = Date.now() - 7_200_000;
    const line = (rows: [string, number, string][]) =>
      JSON.stringify({
        d: rows.map((r) => r[0]),
        t: rows.map((r) => r[1]),
        v: rows.map((r) => r[2]),
      });
    // Format 1 (no header), as a hub before issue 11 spooled the poisoned batch: it failed forever.
    await writeFile(
      path.join(spoolDir, '000000000001.jsonl'),
      line([
        ['SP-GOOD', base, '{"depth":1}'],
        ['SP-BAD', base, String.raw`{"fault_code":"a\u0000b"}`],
        ['SP-GOOD', base + 1000, '{"depth":2}'],
        ['SP-BAD', base + 1000, String.raw`{"fault_code":"x\ud800"}`],
      ]) +
        '\n' +
        line([['SP-GOOD', base + 2000, '{"depth":3}']]) +
        '\n',
    );
    // Format 2 after it: replay goes on past the poisoned segment.
    await writeFile(
      path.join(spoolDir, '000000000002.jsonl'),
      '{"spool":2}\n' + line([['SP-GOOD', base + 3000, '{"depth":4}']]) + '\n',
    );
    // A format this hub does not know: kept in the quarantine, not retried.
    await writeFile(path.join(spoolDir, '000000000003.jsonl'), '{"spool":99}\n{"x":1}\n');

    const t = await startTestHub({ DATA_DIR: dataDir }, 'primary', { storageCheckMs: 100 });
    cleanups.push(() => t.stop());
    await waitFor(
      async () => ((await stored(t, 'SP-GOOD')).length === 4 ? true : undefined),
      'the good spooled rows stored',
    );
    expect(await stored(t, 'SP-GOOD')).toEqual([base, base + 1000, base + 2000, base + 3000]);
    expect(await stored(t, 'SP-BAD')).toEqual([]);
    await waitFor(
      () => (t.hub.ingest.writer.mode() === 'direct' ? true : undefined),
      'the spool replayed',
    );
    await t.hub.ingest.drain();
    const letters = await deadLetters(t);
    expect(letters.map((l) => [l.device_id, l.code])).toEqual([
      ['SP-BAD', 'HUB_ERR_STORAGE_REFUSED'],
      ['SP-BAD', 'HUB_ERR_STORAGE_REFUSED'],
    ]);
    // The payload is the reading with its time: replayable once the cause is fixed.
    expect(JSON.parse(letters[0]!.payload)).toEqual({ ts: base, fault_code: 'a\u0000b' });
    expect((await readdir(spoolDir)).filter((f) => f.endsWith('.jsonl'))).toEqual([]);
    const quarantined = await readdir(path.join(spoolDir, 'quarantine'));
    expect(quarantined).toHaveLength(2);
    const reason = quarantined.find((f) => f.endsWith('.reason.txt'))!;
    expect(await readFile(path.join(spoolDir, 'quarantine', reason), 'utf8')).toMatch(
      /spool format version 99/,
    );

    // Storage goes on: a live reading after the replay is stored.
    const c = await connectDevice(t.mqttUrl, t.devices.gas);
    cleanups.push(async () => c.end(true));
    await c.publishAsync(
      `devices/${t.devices.gas.id}/telemetry`,
      JSON.stringify({ ts: base, ...quietReading('gas', 1) }),
      { qos: 1 },
    );
    await waitFor(
      async () => ((await stored(t, t.devices.gas.id)).length === 1 ? true : undefined),
      'a live reading stored',
    );

    // The quarantine waits for an operator: health says degraded, and the alarm says so.
    const h = await health(t);
    expect(h.status).toBe('degraded');
    expect(h.storage.problems.map((p) => p.code)).toEqual(['storage_quarantine']);
    const patched = await authed(t.adminToken)(`${t.httpUrl}/api/rules/all.storage_degraded`, {
      method: 'PATCH',
      body: JSON.stringify({ settings: { forSeconds: 0, clearAfterSeconds: 0 } }),
    });
    expect(patched.status).toBe(200);
    const alarm = async () =>
      (
        await t.hub.db.pool.query<{ id: number; state: string; source_kind: string }>(
          `SELECT id, state, source_kind FROM alarms WHERE rule_id = 'all.storage_degraded'`,
        )
      ).rows[0];
    await waitFor(async () => ((await alarm())?.state === 'open' ? true : undefined), 'the alarm');
    expect((await alarm())!.source_kind).toBe('hub');
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/hub_storage_degraded\{problem="storage_quarantine"\} 1/);
    expect(metrics).toMatch(/hub_storage_quarantined\{what="segments"\} 1/);

    // The operator handles the files: health is ok again and the alarm clears, with no case.
    await rm(path.join(spoolDir, 'quarantine'), { recursive: true });
    await waitFor(async () => ((await health(t)).status === 'ok' ? true : undefined), 'health ok');
    await waitFor(
      async () => ((await alarm())?.state === 'cleared' ? true : undefined),
      'the alarm clearing',
    );
    await t.hub.cases.settled();
    const cases = await t.hub.db.pool.query(`SELECT id FROM cases WHERE alarm_id = $1`, [
      (await alarm())!.id,
    ]);
    expect(cases.rows).toEqual([]);
  });
});

describe('dead letters the database refuses', () => {
  it('keeps a dead letter the database refuses in the quarantine and stores the others of its batch', async () => {
    const t = await startTestHub({}, 'primary', { storageCheckMs: 100 });
    cleanups.push(() => t.stop());
    // A refusal text cleaning cannot cure (23514, as a site's own constraint or trigger might).
    await t.hub.db.pool.query(
      `ALTER TABLE dead_letters ADD CONSTRAINT test_refuses CHECK (payload NOT LIKE '%REFUSE-ME%')`,
    );
    const c = await connectDevice(t.mqttUrl, t.devices.dust_noise);
    cleanups.push(async () => c.end(true));
    const topic = `devices/${t.devices.dust_noise.id}/telemetry`;
    // Sent at once, so the three are one dead-letter batch.
    await Promise.all(
      ['not json 1', '{"REFUSE-ME": 1', 'not json 2'].map((p) =>
        c.publishAsync(topic, p, { qos: 1 }),
      ),
    );
    await t.hub.ingest.drain();
    const letters = await deadLetters(t);
    expect(letters.map((l) => l.payload)).toEqual(['not json 1', 'not json 2']);
    const dir = path.join(t.hub.config.dataDir, 'spool', 'quarantine');
    const files = await readdir(dir);
    const kept = files.find((f) => f.endsWith('-dead-letters.jsonl'))!;
    expect(JSON.parse(await readFile(path.join(dir, kept), 'utf8'))).toMatchObject({
      code: 'HUB_ERR_PAYLOAD_JSON',
      payload: '{"REFUSE-ME": 1',
    });
    expect(await readFile(path.join(dir, `${kept}.reason.txt`), 'utf8')).toMatch(/SQLSTATE 23514/);
    expect((await health(t)).storage.problems.map((p) => p.code)).toEqual(['storage_quarantine']);
    // Storage goes on.
    await c.publishAsync(topic, JSON.stringify(quietReading('dust_noise', 1)), { qos: 1 });
    await waitFor(
      async () => ((await stored(t, t.devices.dust_noise.id)).length === 1 ? true : undefined),
      'a reading stored',
    );
  });

  it('writes a dead letter that came while another dead-letter write was under way, without waiting for a third', async () => {
    const t = await startTestHub();
    cleanups.push(() => t.stop());
    const c = await connectDevice(t.mqttUrl, t.devices.waterlogging);
    cleanups.push(async () => c.end(true));
    const topic = `devices/${t.devices.waterlogging.id}/telemetry`;
    // Hold the table so the first write waits, as a slow database would.
    const locker = await t.hub.db.pool.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE dead_letters IN EXCLUSIVE MODE');
    await c.publishAsync(topic, 'first', { qos: 1 });
    await new Promise((r) => setTimeout(r, 300));
    await c.publishAsync(topic, 'second', { qos: 1 });
    await new Promise((r) => setTimeout(r, 300));
    await locker.query('COMMIT');
    locker.release();
    await waitFor(
      async () => ((await deadLetters(t)).length === 2 ? true : undefined),
      'both dead letters stored',
    );
  });
});

describe('data at rest', () => {
  it('makes DATA_DIR and everything under it private to the hub user, also for an existing install', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hub-private-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    // An install from before issue 11: 0644 files in 0755 directories.
    await chmod(dataDir, 0o755);
    await mkdir(path.join(dataDir, 'spool'), { mode: 0o755 });
    await writeFile(path.join(dataDir, 'spool', '000000000001.jsonl'), '', { mode: 0o644 });
    await chmod(path.join(dataDir, 'spool'), 0o755);
    await chmod(path.join(dataDir, 'spool', '000000000001.jsonl'), 0o644);
    const t = await startTestHub({ DATA_DIR: dataDir, MQTT_PERSISTENCE: 'level' });
    cleanups.push(() => t.stop());
    // Something in every place the hub writes: the spool, the MQTT store.
    const c = await connectDevice(t.mqttUrl, t.devices.manhole, { clean: false });
    cleanups.push(async () => c.end(true));
    await c.publishAsync(
      `devices/${t.devices.manhole.id}/telemetry`,
      JSON.stringify(quietReading('manhole', 1)),
      { qos: 1 },
    );
    const open: string[] = [];
    async function walk(p: string): Promise<void> {
      const st = await stat(p);
      if ((st.mode & 0o077) !== 0) open.push(`${p} ${(st.mode & 0o777).toString(8)}`);
      if (st.isDirectory()) for (const name of await readdir(p)) await walk(path.join(p, name));
    }
    await walk(dataDir);
    expect(open).toEqual([]);
    expect(await readdir(path.join(dataDir, 'mqtt'))).not.toEqual([]);
  });
});
