import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import {
  describeDbError,
  ensurePrivateDir,
  getDeadLetters,
  insertDeadLetters,
  UnwrittenError,
  writeIsolated,
  markDeadLettersReplayed,
  rebuildRollups,
  type DeadLetter,
  type DeviceIdentity,
  type Queryable,
} from '../db/index.js';
import type { DeviceTopicKind, HubErrorCode } from '../domain/index.js';
import { createBatchWriter, type Ack, type RefusedRow } from './batch-writer.js';
import { createDecoder, type Reading } from './decode.js';
import { createQuarantine } from './quarantine.js';
import { createRollupAccumulator } from './rollups.js';
import { createSpool } from './spool.js';

/** Dead letters keep this much of the payload: enough to diagnose, bounded in size. */
export const deadLetterPayloadChars = 8192;

export interface IngestOptions {
  /** Where batches wait on disk while the database is away. */
  readonly spoolDir: string;
  readonly batchMaxRows: number;
  readonly flushIntervalMs: number;
  readonly maxPayloadBytes: number;
}

const noop = () => {};

export type ReplayOutcome =
  | { readonly id: number; readonly status: 'replayed'; readonly readings: number }
  | {
      readonly id: number;
      readonly status: 'rejected';
      readonly code: string;
      readonly reason: string;
    }
  | { readonly id: number; readonly status: 'not_replayable'; readonly reason: string };

export type ReadingsListener = (device: DeviceIdentity, readings: readonly Reading[]) => void;

/** Why storage is not healthy (docs/api.md, `GET /api/health`). */
export interface StorageProblem {
  readonly code: 'storage_spooling' | 'storage_stalled' | 'storage_quarantine';
  readonly message: string;
  /** Epoch ms the problem began (for the quarantine: null, it lasts until an operator acts). */
  readonly sinceMs: number | null;
}

/** A spooling episode this long with the replayer failing throughout counts as stalled. */
const stalledAfterMs = 30_000;

/**
 * The ingest room: decodes what devices publish, writes good readings in
 * batches, dead-letters the rest with their reason, and hands the readings to
 * the rules. Counts everything; throws on nothing a device sends.
 */
export function createIngest(db: Queryable, options: IngestOptions, logger: Logger) {
  const decoder = createDecoder({
    maxPayloadBytes: options.maxPayloadBytes,
    maxBatchReadings: options.batchMaxRows,
  });
  // Present while rollup contributions are held in memory, with the reading-time
  // range they cover; found at start, that range is rebuilt from the readings.
  const dirtyFile = path.join(options.spoolDir, 'rollups-pending.json');
  const rollups = createRollupAccumulator(db, 5000, logger, (range) => {
    // A plain write survives the process dying; it runs only when the range widens.
    if (range) writeFileSync(dirtyFile, JSON.stringify(range), { mode: 0o600 });
    else rmSync(dirtyFile, { force: true });
  });
  const quarantine = createQuarantine(path.join(options.spoolDir, 'quarantine'));
  const counters = {
    messages: 0,
    readings: 0,
    deadLetters: 0,
    byCode: {} as Record<string, number>,
  };
  const count = (code: HubErrorCode) => {
    counters.deadLetters++;
    counters.byCode[code] = (counters.byCode[code] ?? 0) + 1;
  };

  /**
   * Stores dead letters; one the database refuses (after its text was made
   * storable, rare) is kept in the quarantine, so a dead letter is never
   * retried forever. Throws `UnwrittenError` while the database is away.
   */
  async function storeDeadLetters(letters: DeadLetter[]): Promise<void> {
    await writeIsolated(
      letters.length,
      (start, end) => insertDeadLetters(db, letters.slice(start, end)),
      async (i, err) => {
        const kept = await quarantine.keep(
          'dead-letters',
          [JSON.stringify(letters[i])],
          `the database refused this dead letter: ${describeDbError(err)}`,
        );
        logger.error({ kept, err }, 'dead letter quarantined');
      },
    );
  }

  /** A row the database refused at write time becomes a dead letter that can be replayed. */
  async function keepRefused(row: RefusedRow): Promise<void> {
    // The reading with its time, so a replay (once the cause is fixed) stores the same row.
    const payload = row.data.length > 2 ? `{"ts":${row.timeMs},${row.data.slice(1)}` : row.data;
    const letter: DeadLetter = {
      receivedAt: new Date().toISOString(),
      deviceId: row.deviceId,
      topic: `devices/${row.deviceId}/telemetry`,
      code: 'HUB_ERR_STORAGE_REFUSED',
      reason: `the database refused this reading (${row.from}): ${describeDbError(row.error)}`,
      payload:
        payload.length > deadLetterPayloadChars
          ? payload.slice(0, deadLetterPayloadChars)
          : payload,
      payloadBytes: Buffer.byteLength(payload),
    };
    await storeDeadLetters([letter]);
    count('HUB_ERR_STORAGE_REFUSED');
  }

  const writer = createBatchWriter(
    db,
    createSpool(options.spoolDir),
    quarantine,
    {
      maxRows: options.batchMaxRows,
      flushIntervalMs: options.flushIntervalMs,
      concurrency: 3,
      beforeCommit: (batch) => rollups.beforeCommit(batch),
      onCommitted: (batch, mask) => rollups.add(batch, mask),
      onRefused: keepRefused,
    },
    logger,
  );
  const listeners: ReadingsListener[] = [];
  // Readings without ts take the receive time, and (device, time) is the key: two
  // messages of one device in the same millisecond must not share a stamp.
  const lastStamp = new Map<string, number>();
  function receiveStamp(deviceId: string): number {
    const last = lastStamp.get(deviceId) ?? 0;
    const now = Date.now();
    return now > last ? now : last + 1;
  }
  let deadPending: DeadLetter[] = [];
  let deadFlush: Promise<void> | null = null;

  let deadRetry: NodeJS.Timeout | null = null;
  function flushDeadLetters(): Promise<void> {
    if (deadFlush || deadPending.length === 0) return deadFlush ?? Promise.resolve();
    const letters = deadPending;
    deadPending = [];
    let failed = false;
    deadFlush = storeDeadLetters(letters)
      .catch((err: unknown) => {
        failed = true;
        const unwritten =
          err instanceof UnwrittenError
            ? err.ranges.flatMap(([start, end]) => letters.slice(start, end))
            : letters;
        logger.warn(
          { err: err instanceof UnwrittenError ? err.cause : err, count: unwritten.length },
          'dead letters not written',
        );
        // Keep a bounded number for the next attempt; they are also in the log.
        deadPending = unwritten.slice(-1000).concat(deadPending);
      })
      .finally(() => {
        deadFlush = null;
        if (deadPending.length === 0) return;
        // Letters that came while this flush ran had their timer find it busy: write them
        // now, or after a pause while the database is away (they waited until the next
        // dead letter before).
        if (!failed) void flushDeadLetters();
        else
          deadRetry ??= setTimeout(() => {
            deadRetry = null;
            void flushDeadLetters();
          }, 1000).unref();
      });
    return deadFlush;
  }

  /** Writes every dead letter held now (waiting for a flush under way first). */
  async function drainDeadLetters(): Promise<void> {
    while (deadFlush) await deadFlush;
    await flushDeadLetters();
  }

  function deadLetter(
    deviceId: string | null,
    topic: string,
    code: HubErrorCode,
    reason: string,
    payload: Buffer,
  ): void {
    count(code);
    const text = payload.subarray(0, deadLetterPayloadChars * 4).toString('utf8');
    deadPending.push({
      receivedAt: new Date().toISOString(),
      deviceId,
      topic,
      code,
      reason,
      payload: text.length > deadLetterPayloadChars ? text.slice(0, deadLetterPayloadChars) : text,
      payloadBytes: payload.length,
    });
    logger.debug({ deviceId, topic, code, reason }, 'dead letter');
    if (deadPending.length >= 100) void flushDeadLetters();
    else setTimeout(() => void flushDeadLetters(), options.flushIntervalMs).unref();
  }

  /**
   * What keeps storage from being healthy now: writes going to the spool, the
   * replayer failing for a while (stalled), files in the quarantine.
   */
  function storageProblems(now = Date.now()): StorageProblem[] {
    const problems: StorageProblem[] = [];
    const { spoolingSinceMs, replayError } = writer.state();
    if (spoolingSinceMs !== null) {
      const stalled = replayError !== null && now - replayError.sinceMs >= stalledAfterMs;
      problems.push({
        code: stalled ? 'storage_stalled' : 'storage_spooling',
        message: stalled
          ? `readings are kept in the spool but the database has refused them for ${Math.round((now - replayError.sinceMs) / 1000)} s: ${replayError.message}`
          : `database writes failed; readings are kept in the spool (${options.spoolDir}) until it answers`,
        sinceMs: spoolingSinceMs,
      });
    }
    const files = quarantine.files() ?? 0;
    if (files > 0)
      problems.push({
        code: 'storage_quarantine',
        message: `${files} file(s) in ${quarantine.dir} hold data the database refused; read the .reason.txt beside each (docs/storage.md, "Quarantine")`,
        sinceMs: null,
      });
    return problems;
  }

  return {
    counters,
    writer,
    quarantine,
    deadLetter,
    storageProblems,
    /** Counts the quarantine files again (an operator may have handled some). */
    refreshStorage: () => quarantine.count(),
    onReadings(listener: ReadingsListener): void {
      listeners.push(listener);
    },
    /** Called by the broker for every authorised publish of a device. */
    accept(
      device: DeviceIdentity,
      kind: DeviceTopicKind,
      topic: string,
      payload: Buffer,
      ack: Ack = noop,
    ): void {
      counters.messages++;
      // Status and command acks are the broker's business (issue #6), not readings.
      if (kind !== 'telemetry' && kind !== 'events') return ack(null);
      const stamp = receiveStamp(device.id);
      const decoded = decoder.decode(device.type, payload, stamp);
      // A batch takes one millisecond per reading (decode.ts), so the next message starts after it.
      lastStamp.set(
        device.id,
        stamp + Math.max(0, decoded.readings.length + decoded.rejections.length - 1),
      );
      for (const r of decoded.rejections) {
        const where =
          decoded.readings.length + decoded.rejections.length > 1 ? ` (reading ${r.index})` : '';
        deadLetter(device.id, topic, r.code, r.reason + where, payload);
      }
      // Bad input is dead-lettered, not refused: resending it would not make it better.
      if (decoded.readings.length === 0) return ack(null);
      counters.readings += decoded.readings.length;
      for (const r of decoded.readings) writer.add(device.id, r.timeMs, r.json, r.metrics);
      // PUBACK only once these readings are committed or on disk (QoS 1, issue #3).
      writer.ackWhenDurable(ack);
      for (const l of listeners) l(device, decoded.readings);
    },
    /**
     * Decodes selected dead letters again against the device's current
     * configuration (say, its facility type was corrected) and stores what now
     * passes, through the same durable path as live readings.
     */
    async replayDeadLetters(
      ids: readonly number[],
      lookup: (deviceId: string) => DeviceIdentity | undefined,
    ): Promise<ReplayOutcome[]> {
      const outcomes: ReplayOutcome[] = [];
      const replayed: number[] = [];
      const durable: Promise<void>[] = [];
      for (const letter of await getDeadLetters(db, ids)) {
        const device = letter.deviceId ? lookup(letter.deviceId) : undefined;
        if (letter.replayedAt) {
          outcomes.push({ id: letter.id, status: 'not_replayable', reason: 'already replayed' });
        } else if (!device) {
          outcomes.push({ id: letter.id, status: 'not_replayable', reason: 'unknown device' });
        } else if (Buffer.byteLength(letter.payload) < letter.payloadBytes) {
          outcomes.push({
            id: letter.id,
            status: 'not_replayable',
            reason: 'payload was truncated',
          });
        } else {
          const decoded = decoder.decode(
            device.type,
            Buffer.from(letter.payload),
            Date.parse(letter.receivedAt),
          );
          const first = decoded.rejections[0];
          if (first || decoded.readings.length === 0) {
            outcomes.push({
              id: letter.id,
              status: 'rejected',
              code: first?.code ?? 'HUB_ERR_PAYLOAD_SHAPE',
              reason: first?.reason ?? 'no reading',
            });
            continue;
          }
          for (const r of decoded.readings) writer.add(device.id, r.timeMs, r.json, r.metrics);
          durable.push(
            new Promise((resolve, reject) =>
              writer.ackWhenDurable((err) => (err ? reject(err) : resolve())),
            ),
          );
          for (const l of listeners) l(device, decoded.readings);
          replayed.push(letter.id);
          outcomes.push({ id: letter.id, status: 'replayed', readings: decoded.readings.length });
        }
      }
      await Promise.all(durable);
      await markDeadLettersReplayed(db, replayed);
      return outcomes;
    },
    /**
     * After an unclean stop, rebuilds the rollups of the reading-time range
     * whose contributions were still in memory; then replays the spool.
     */
    async recover(): Promise<void> {
      await ensurePrivateDir(options.spoolDir);
      await quarantine.count();
      if (existsSync(dirtyFile)) {
        const range = JSON.parse(await readFile(dirtyFile, 'utf8')) as {
          fromMs: number;
          toMs: number;
        };
        logger.warn(
          range,
          'previous run stopped with rollups unwritten; rebuilding them from the readings',
        );
        await rebuildRollups(db, range.fromMs, range.toMs + 1);
        await rm(dirtyFile, { force: true });
      }
      await writer.recover();
    },
    /** Makes held readings durable and writes the rollups; tests and shutdown use it. */
    async drain(): Promise<void> {
      await writer.drain();
      await rollups.flush();
      await drainDeadLetters();
    },
    async stop(): Promise<void> {
      await writer.stop();
      await rollups.stop();
      await drainDeadLetters();
      if (deadRetry) clearTimeout(deadRetry);
    },
    rollupCounters: rollups.counters,
  };
}

export type Ingest = ReturnType<typeof createIngest>;
