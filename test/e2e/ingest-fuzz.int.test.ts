import fc from 'fast-check';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCatalog } from '../../src/domain/index.js';
import {
  connectDevice,
  quietReading,
  startTestHub,
  waitFor,
  type TestHub,
} from '../support/hub.js';

/**
 * Issue 11, "Tests": a fast-check fuzz of MQTT payloads through the real
 * broker and ingest into the real database. Every payload ends stored or
 * dead-lettered with a code; the storage path never stalls (no spool, no
 * quarantine); afterwards every good reading of a control device is stored.
 * `npm test` runs a bounded number of payloads; `HUB_FUZZ_RUNS=5000` runs more
 * (docs/testing.md). A failure prints fast-check's seed and the shrunk payload.
 */
const numRuns = Number(process.env.HUB_FUZZ_RUNS ?? 150);

// Text PostgreSQL refuses, text it takes that looks alike, and odd Unicode.
const poison = fc.constantFrom(
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfff',
  '\udc00\ud800',
  '\\u0000',
  '\\\\u0000',
  '😀',
  '\ud83d\ude00',
  '门锁故障',
  '\u202e\u200b',
  '\u0001\u001f',
  '',
);
const oddString = fc.oneof(
  poison,
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
);
const oddNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -0, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER + 2),
);
const metricName = fc.oneof(
  fc.constantFrom(
    'floor',
    'door_open',
    'moving',
    'direction',
    'speed',
    'vibration',
    'people',
    'fault_code',
    'seq',
  ),
  oddString,
);
const oddValue = fc.oneof(
  oddString,
  oddNumber,
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 2, stringUnit: 'binary' }),
);
const ts = fc.oneof(
  fc.integer({ min: -1e15, max: 1e16 }),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('0000-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '2026-02-30T00:00:00Z'),
  oddString,
);
const withTs = <T extends Record<string, unknown>>(r: fc.Arbitrary<T>) =>
  fc.tuple(r, fc.option(ts)).map(([x, t]) => (t === null ? x : { ...x, ts: t }));
// Readings that pass the elevator's schema, with odd text where it allows text: these reach the database.
const nearlyValid = withTs(
  fc.record(
    {
      floor: fc.integer({ min: -10, max: 200 }),
      vibration: fc.double({ min: 0, max: 50, noNaN: true }),
      fault_code: oddString.filter((s) => s.length <= 32),
    },
    { requiredKeys: ['fault_code'] },
  ),
);
const anyReading = withTs(fc.dictionary(metricName, oddValue, { maxKeys: 6 }));
const reading = fc.oneof(nearlyValid, anyReading);
const jsonPayload = fc
  .oneof(
    reading,
    fc.array(reading, { maxLength: 8 }),
    fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' }),
  )
  .map((v) => Buffer.from(JSON.stringify(v) ?? 'null'));
const rawText = fc
  .oneof(
    fc.constantFrom(
      '{"floor": 1e400}',
      '{"vibration": -1e400}',
      '{"floor": 123456789012345678901234567890}',
      '{"vibration": 1e-400}',
      '{"floor": 1, "floor": 2}',
      String.raw`{"fault_code": "\u0000"}`,
      String.raw`{"fault_code": "\ud800"}`,
      String.raw`{"\u0000": 1}`,
      String.raw`[{"floor": 1}, {"fault_code": "\udfff"}, {"floor": 2}]`,
      'bad\u0000json',
      '',
      'null',
      '[]',
      '[[[[[[[[[[]]]]]]]]]]',
      '['.repeat(20_000) + ']'.repeat(20_000),
      '{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000),
    ),
    fc.string({ unit: 'binary', maxLength: 64 }),
  )
  .map((s) => Buffer.from(s, 'utf8'));
const rawBytes = fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b));
const payload = fc.oneof(
  { weight: 3, arbitrary: jsonPayload },
  { weight: 2, arbitrary: rawText },
  { weight: 1, arbitrary: rawBytes },
);

describe('fuzzed MQTT payloads through the broker, ingest and database', () => {
  let t: TestHub;
  let lift: MqttClient;
  beforeAll(async () => {
    t = await startTestHub({ MQTT_RATE_PER_S: '100000', MQTT_RATE_BURST: '1000000' });
    lift = await connectDevice(t.mqttUrl, t.devices.elevator);
  });
  afterAll(async () => {
    lift?.end(true);
    await t?.stop();
  });

  it(`stores or dead-letters every payload with a code and never stalls storage (${numRuns} payloads)`, async () => {
    const topic = `devices/${t.devices.elevator.id}/telemetry`;
    const { ingest } = t.hub;
    await fc.assert(
      fc.asyncProperty(payload, async (p) => {
        const readings = ingest.counters.readings;
        const dead = ingest.counters.deadLetters;
        // QoS 1: the PUBACK comes once the readings are durable (or the payload dead-lettered).
        await lift.publishAsync(topic, p, { qos: 1 });
        expect(
          ingest.counters.readings - readings + ingest.counters.deadLetters - dead,
        ).toBeGreaterThan(0);
        expect(ingest.writer.mode()).toBe('direct');
      }),
      { numRuns },
    );
    expect(lift.connected).toBe(true);
    await ingest.drain();

    // Every reading accepted is in the database (or refused there and dead-lettered), every dead letter too.
    const w = ingest.writer.counters;
    expect(w.stored + w.duplicates + w.refusedRows).toBe(ingest.counters.readings);
    const { rows } = await t.hub.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM telemetry`,
    );
    expect(rows[0]!.n).toBe(w.stored);
    const letters = await t.hub.db.pool.query<{ code: string; n: number }>(
      `SELECT code, count(*)::int AS n FROM dead_letters GROUP BY code`,
    );
    expect(letters.rows.reduce((s, r) => s + r.n, 0)).toBe(ingest.counters.deadLetters);
    for (const r of letters.rows) expect(Object.keys(errorCatalog)).toContain(r.code);
    expect(w.spooledBatches).toBe(0);
    expect(ingest.quarantine.counters).toEqual({ rows: 0, segments: 0 });

    // A control device's good readings after the run: all stored.
    const gas = await connectDevice(t.mqttUrl, t.devices.gas);
    try {
      const base = Date.now() - 3_600_000;
      for (let i = 0; i < 20; i++)
        await gas.publishAsync(
          `devices/${t.devices.gas.id}/telemetry`,
          JSON.stringify({ ts: base + i * 1000, ...quietReading('gas', i) }),
          { qos: 1 },
        );
    } finally {
      gas.end(true);
    }
    await waitFor(async () => {
      const r = await t.hub.db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM telemetry WHERE device_id = $1`,
        [t.devices.gas.id],
      );
      return r.rows[0]!.n === 20 ? true : undefined;
    }, 'the control readings stored');
    const health = (await (await fetch(`${t.httpUrl}/api/health`)).json()) as { status: string };
    expect(health.status).toBe('ok');
  });
});
