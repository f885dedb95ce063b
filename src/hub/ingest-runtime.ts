import os from 'node:os';
import path from 'node:path';
import { Gauge } from 'prom-client';
import { createIngest, type Ingest } from '../ingest/index.js';
import { createStorageWatch, storageDegradedRuleId } from '../rules/index.js';
import type { Core } from './core.js';
import type { RulesRuntime } from './rules-runtime.js';

/**
 * Ingest of this process, with its storage gauges: on broker roles for MQTT,
 * on API processes only for dead-letter replays.
 */
export function startIngest(core: Core): Ingest {
  const { config, logger } = core;
  const ingest = createIngest(
    core.db.pool,
    {
      spoolDir: path.join(config.dataDir, 'spool'),
      batchMaxRows: config.ingestBatchMaxRows,
      flushIntervalMs: config.ingestFlushIntervalMs,
      maxPayloadBytes: config.ingestMaxPayloadBytes,
    },
    logger.child({ room: 'ingest' }),
  );
  storageGauges(core, ingest);
  return ingest;
}

/**
 * Storage problems of this node become the all.storage_degraded alarm (issue
 * 11), on broker roles. Started after the drain step: stopped before it.
 */
export function watchStorage(core: Core, ingest: Ingest, rules: RulesRuntime): void {
  const watch = createStorageWatch(
    rules.alarms,
    () => rules.evaluator.rules().find((r) => r.id === storageDegradedRuleId),
    `storage@${os.hostname()}`,
  );
  const timer = setInterval(() => {
    void ingest
      .refreshStorage()
      .then(() => watch.check(ingest.storageProblems(), Date.now()))
      .catch((err: unknown) => core.logger.warn({ err }, 'storage check failed'));
  }, core.options.storageCheckMs ?? 5000).unref();
  core.stops.push(async () => clearInterval(timer));
}

function storageGauges(core: Core, ingest: Ingest): void {
  const registers = [core.metricsRegistry];
  new Gauge({
    name: 'hub_storage_degraded',
    help: 'Storage problems of this node now (0: healthy), by kind (GET /api/health).',
    labelNames: ['problem'],
    registers,
    collect() {
      this.reset();
      for (const p of ingest.storageProblems()) this.inc({ problem: p.code });
    },
  });
  new Gauge({
    name: 'hub_storage_refused_rows',
    help: 'Rows the database refused for good since start (kept as dead letters).',
    registers,
    collect() {
      this.set(ingest.writer.counters.refusedRows);
    },
  });
  new Gauge({
    name: 'hub_storage_quarantined',
    help: 'Rows and spool segments put in the quarantine since start, and files waiting there.',
    labelNames: ['what'],
    registers,
    collect() {
      this.set({ what: 'rows' }, ingest.quarantine.counters.rows);
      this.set({ what: 'segments' }, ingest.quarantine.counters.segments);
      this.set({ what: 'files' }, ingest.quarantine.files() ?? 0);
    },
  });
}
