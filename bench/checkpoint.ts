/**
 * Cost of checkpointing the rules engine's per-device window state (#4):
 * 10,000 demo devices (all seven types) play an hour of normal readings
 * through the full rule pack, so every window (PM10 hourly, noise Leq, water
 * rising) is full; then the hub's checkpoint runs as it does every minute:
 * the state that changed, serialised and upserted into `rule_state`.
 * Figures: rows, bytes and milliseconds of a full checkpoint (shutdown) and
 * of a steady-state one-minute checkpoint.
 * Database: BENCH_DATABASE_URL, else a fresh database on the machine's
 * server, else the embedded PostgreSQL. Last line: one JSON object.
 * Run: npx tsx bench/checkpoint.ts [devices] [minutes]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { openDatabase, saveRuleState, type Database } from '../src/db/index.js';
import { generateDemoCity, type FacilityType } from '../src/domain/index.js';
import { createEvaluator, defaultRulePack } from '../src/rules/index.js';
import { playScript, scriptStartMs, type ScriptDevice } from '../src/simulators/index.js';
import { benchDatabase } from './database.js';

const deviceCount = Number(process.argv[2] ?? 10_000);
const minutes = Number(process.argv[3] ?? 60);

const city = generateDemoCity({ deviceCount });
const fleet: ScriptDevice[] = city.devices.map((d) => ({
  id: d.id,
  type: d.type,
  gridCode: d.gridCode,
  road: typeof d.attrs.road === 'string' ? d.attrs.road : null,
}));
const types = new Map<string, FacilityType>(fleet.map((d) => [d.id, d.type]));
const quiet = {
  name: 'normal',
  description: 'every device normal',
  startLocal: '21:00',
  durationMin: minutes + 3,
  targets: () => [],
  alter: () => undefined,
};
const readings = playScript(quiet, fleet);
const startMs = scriptStartMs(quiet.startLocal);
const evaluator = createEvaluator(defaultRulePack);
evaluator.setFleet(fleet, startMs);

let i = 0;
/** Plays readings up to (not including) minute `m`, ticking once a minute as the hub does. */
function playUntil(m: number): void {
  const end = startMs + m * 60_000;
  for (; i < readings.length && readings[i]!.timeMs < end; i++) {
    const r = readings[i]!;
    evaluator.evaluate(r.deviceId, types.get(r.deviceId)!, [
      { timeMs: r.timeMs, metrics: r.metrics },
    ]);
  }
  evaluator.tick(end);
}

interface Figures {
  rows: number;
  bytes: number;
  collect_ms: number;
  save_ms: number;
}

async function measure(db: Database, all: boolean): Promise<Figures> {
  const t0 = performance.now();
  const rows = evaluator.checkpoint(all);
  const t1 = performance.now();
  const bytes = rows.reduce((n, r) => n + JSON.stringify(r.state).length + r.key.length, 0);
  const t2 = performance.now();
  await saveRuleState(db.pool, rows);
  const t3 = performance.now();
  return {
    rows: rows.length,
    bytes,
    collect_ms: Math.round((t1 - t0) * 10) / 10,
    save_ms: Math.round(t3 - t2),
  };
}

async function main(): Promise<void> {
  const target = await benchDatabase('bench_checkpoint');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-checkpoint-'));
  const db = await openDatabase({
    url: target.url,
    poolMax: 4,
    dataDir,
    embeddedPort: 0,
    logger: pino({ level: 'warn' }),
  });
  try {
    const p0 = performance.now();
    playUntil(minutes);
    const playS = (performance.now() - p0) / 1000;
    console.log(
      `${deviceCount} devices, ${i.toLocaleString('en')} readings over ${minutes} min in ${playS.toFixed(1)} s (${target.label})`,
    );
    const full = await measure(db, true);
    console.log(`full checkpoint: ${JSON.stringify(full)}`);
    // Steady state: the hub checkpoints every minute; the last of three is reported.
    let minute = full;
    for (let m = 1; m <= 3; m++) {
      playUntil(minutes + m);
      minute = await measure(db, false);
      console.log(`one-minute checkpoint ${m}: ${JSON.stringify(minute)}`);
    }
    const result = {
      devices: deviceCount,
      full_rows: full.rows,
      full_bytes: full.bytes,
      full_collect_ms: full.collect_ms,
      full_save_ms: full.save_ms,
      minute_rows: minute.rows,
      minute_bytes: minute.bytes,
      minute_collect_ms: minute.collect_ms,
      minute_save_ms: minute.save_ms,
    };
    console.log(JSON.stringify(result));
  } finally {
    await db.close();
    await target.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
