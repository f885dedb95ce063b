import path from 'node:path';
import type { Logger } from 'pino';
import {
  describeDbError,
  insertReadings,
  UnwrittenError,
  writeIsolated,
  type Queryable,
  type ReadingColumns,
} from '../db/index.js';
import { releaseAcks } from './ack-release.js';
import type { Quarantine } from './quarantine.js';
import { SpoolFormatError, type Spool } from './spool.js';

export type Ack = (err?: Error | null) => void;

export interface BatchWriterOptions {
  /** Most readings in one write (a single publish's readings are never split). */
  readonly maxRows: number;
  /** Longest a reading waits for its batch while a write slot is free. */
  readonly flushIntervalMs: number;
  /** Batches committed at once in direct mode; the spool is written one at a time. */
  readonly concurrency: number;
  /** Told before a batch is committed. */
  readonly beforeCommit?: (batch: ReadingColumns) => void;
  /** Told of every committed batch and which of its rows were new (null: all). */
  readonly onCommitted?: (batch: CommittedBatch, insertedMask: boolean[] | null) => void;
  /**
   * Keeps one row the database refused for a reason retrying cannot cure
   * (a dead letter, or the quarantine); resolves once it is kept, rejects only
   * when it could not be kept for now (the row is then spooled and retried).
   */
  readonly onRefused: (row: RefusedRow) => Promise<void>;
}

/** A row the database refused, with why. */
export interface RefusedRow {
  readonly deviceId: string;
  readonly timeMs: number;
  /** The reading's metrics as JSON text. */
  readonly data: string;
  readonly error: unknown;
  /** Where it came from: a live batch or a spool segment. */
  readonly from: string;
}

/**
 * A batch as committed: `metrics` are the readings already parsed by the
 * decoder, so rollups need not parse them again; absent for spooled batches.
 */
export interface CommittedBatch extends ReadingColumns {
  readonly metrics?: Record<string, unknown>[];
}

interface Batch extends CommittedBatch {
  readonly metrics: Record<string, unknown>[];
  readonly acks: Ack[];
  /** Per ack: the number of rows up to and including its publish's readings. */
  readonly ackEnds: number[];
}

/** Rows `start … end-1` of a batch's columns. */
function sliceColumns(b: CommittedBatch, start: number, end: number): CommittedBatch {
  if (start === 0 && end === b.deviceIds.length) return b;
  return {
    deviceIds: b.deviceIds.slice(start, end),
    timesMs: b.timesMs.slice(start, end),
    data: b.data.slice(start, end),
    ...(b.metrics ? { metrics: b.metrics.slice(start, end) } : {}),
  };
}

/** The rows of `ranges` as one batch, in order. */
function joinRanges(b: CommittedBatch, ranges: readonly (readonly [number, number])[]) {
  const out = { deviceIds: [] as string[], timesMs: [] as number[], data: [] as string[] };
  for (const [start, end] of ranges) {
    out.deviceIds.push(...b.deviceIds.slice(start, end));
    out.timesMs.push(...b.timesMs.slice(start, end));
    out.data.push(...b.data.slice(start, end));
  }
  return out;
}

const emptyBatch = (): Batch => ({
  deviceIds: [],
  timesMs: [],
  data: [],
  metrics: [],
  acks: [],
  ackEnds: [],
});

/**
 * Takes the first `maxRows` readings of `pending` (cut after the last whole
 * publish that fits; a first publish larger than that goes alone) and leaves
 * the rest in `pending`.
 */
function takeBatch(pending: Batch, maxRows: number): Batch {
  let messages = 0;
  while (messages < pending.ackEnds.length && pending.ackEnds[messages]! <= maxRows) messages++;
  if (messages === 0) messages = 1;
  const rows = pending.ackEnds[messages - 1]!;
  const acks = pending.acks.splice(0, messages);
  const ackEnds = pending.ackEnds.splice(0, messages);
  for (let i = 0; i < pending.ackEnds.length; i++) pending.ackEnds[i]! -= rows;
  return {
    deviceIds: pending.deviceIds.splice(0, rows),
    timesMs: pending.timesMs.splice(0, rows),
    data: pending.data.splice(0, rows),
    metrics: pending.metrics.splice(0, rows),
    acks,
    ackEnds,
  };
}

/**
 * Writes readings in batches, one statement per batch, and acknowledges the
 * publishes behind a batch only once it is durable: committed, or appended and
 * fsynced to the spool while the database is away (issue #3, "No loss").
 *
 * Modes: `direct` writes to the database; after a failed write the writer
 * turns to `spool`, where every batch goes to disk (so order is kept) and a
 * replayer commits the spooled segments oldest first, returning to `direct`
 * once nothing is left. Held acknowledgements are the backpressure: the
 * broker reads no further packets from a client until its publish is acked.
 *
 * A batch is written when `maxRows` readings wait or the oldest has waited
 * `flushIntervalMs`; if every write slot is busy then, as soon as one frees
 * up (not one more interval later). A write carries at most `maxRows`
 * readings, so under load the slots take turns with full batches instead of
 * one ever-growing batch.
 */
export function createBatchWriter(
  db: Queryable,
  spool: Spool,
  quarantine: Quarantine,
  options: BatchWriterOptions,
  logger: Logger,
) {
  let pending = emptyBatch();
  // Readings wait that are due (full batch or timer) but found no free write slot.
  let overdue = false;
  const inFlight = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | null = null;
  let mode: 'direct' | 'spool' = 'direct';
  let replaying: Promise<void> | null = null;
  let stopped = false;
  const counters = {
    stored: 0,
    duplicates: 0,
    batches: 0,
    writeErrors: 0,
    spooledBatches: 0,
    replayedBatches: 0,
    spoolErrors: 0,
    /** Rows the database refused for good, handed to `onRefused` (dead letters). */
    refusedRows: 0,
    /** Extra statements spent splitting refused batches. */
    isolationWrites: 0,
  };
  /** What health reports (issue 11: "degraded while storage is spooling or stalled"). */
  const state = {
    spoolingSinceMs: null as number | null,
    /** The replayer's last failure while it still fails; null once it commits again. */
    replayError: null as { message: string; sinceMs: number; lastMs: number } | null,
  };
  const toSpoolMode = () => {
    if (mode === 'direct') state.spoolingSinceMs = Date.now();
    mode = 'spool';
  };
  const toDirectMode = () => {
    mode = 'direct';
    state.spoolingSinceMs = null;
    state.replayError = null;
  };

  function schedule(): void {
    if (timer || stopped) return;
    timer = setTimeout(() => {
      timer = null;
      void flush();
    }, options.flushIntervalMs);
  }

  const settle = releaseAcks;

  async function commit(batch: CommittedBatch): Promise<void> {
    options.beforeCommit?.(batch);
    const { inserted, insertedMask } = await insertReadings(db, batch);
    options.onCommitted?.(batch, insertedMask);
    counters.stored += inserted;
    counters.duplicates += batch.deviceIds.length - inserted;
    counters.batches++;
  }

  /**
   * Commits a batch; when the database refuses it for a non-transient reason
   * (a data exception: say a NUL that got past validation, issue 11), splits
   * it until the refused rows stand alone, commits the rest and hands those
   * to `onRefused`. Throws `UnwrittenError` with the rows not committed when
   * the database is away.
   */
  async function commitIsolating(batch: CommittedBatch, from: string): Promise<void> {
    let first = true;
    const refused = await writeIsolated(
      batch.deviceIds.length,
      (start, end) => {
        if (!first) counters.isolationWrites++;
        first = false;
        return commit(sliceColumns(batch, start, end));
      },
      async (i, error) => {
        const row = {
          deviceId: batch.deviceIds[i]!,
          timeMs: batch.timesMs[i]!,
          data: batch.data[i]!,
          error,
          from,
        };
        await options.onRefused(row);
        counters.refusedRows++;
      },
    );
    if (refused > 0)
      logger.warn(
        { refused, rows: batch.deviceIds.length, from },
        'database refused rows of a batch; kept as dead letters, the rest stored',
      );
  }

  async function toSpool(batch: Batch): Promise<void> {
    try {
      await spool.append(batch);
      counters.spooledBatches++;
      settle(batch.acks, null);
    } catch (err) {
      // Neither committed nor on disk: refuse the acks, so devices keep and resend them.
      counters.spoolErrors++;
      logger.error(
        { err, rows: batch.deviceIds.length },
        'spool append failed; publishes not acknowledged',
      );
      settle(batch.acks, err as Error);
    }
  }

  async function write(batch: Batch): Promise<void> {
    if (mode === 'direct') {
      try {
        await commitIsolating(batch, 'live');
        settle(batch.acks, null);
        return;
      } catch (err) {
        counters.writeErrors++;
        const cause = err instanceof UnwrittenError ? err.cause : err;
        logger.warn(
          { err: cause, rows: batch.deviceIds.length },
          'database write failed; spooling to disk',
        );
        // Rows already committed (or dead-lettered) while splitting are not spooled again.
        if (err instanceof UnwrittenError)
          batch = { ...joinRanges(batch, err.ranges), metrics: [], acks: batch.acks, ackEnds: [] };
        toSpoolMode();
      }
    }
    await toSpool(batch);
    startReplay();
  }

  /**
   * Replays one closed segment; a segment this hub cannot read, and lines
   * that are not batches, go to the quarantine instead of stopping replay.
   */
  async function replaySegment(segment: string): Promise<void> {
    let content;
    try {
      content = await spool.read(segment);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      const reason =
        err instanceof SpoolFormatError
          ? err.message
          : `segment could not be read: ${(err as Error).message}`;
      const kept = await quarantine.move(path.join(spool.dir, segment), reason);
      logger.error({ segment, kept, reason }, 'spool segment quarantined; replay goes on');
      return;
    }
    if (content.bad.length > 0) {
      const kept = await quarantine.keep(
        'spool-lines',
        content.bad,
        `lines of spool segment ${segment} (format ${content.version}) that are not batches`,
      );
      logger.error({ segment, kept, lines: content.bad.length }, 'spool lines quarantined');
    }
    for (const batch of content.batches) {
      await commitIsolating(batch, `spool ${segment}`);
      counters.replayedBatches++;
    }
    await spool.remove(segment);
  }

  const hasPending = () => pending.deviceIds.length > 0 || pending.acks.length > 0;

  /** Starts a write if a slot is free; a finishing write starts the next. */
  function flush(): Promise<void> {
    if (!hasPending()) return Promise.resolve();
    if (inFlight.size >= (mode === 'direct' ? options.concurrency : 1)) {
      overdue = true;
      return Promise.resolve();
    }
    let batch: Batch;
    if (pending.deviceIds.length > options.maxRows && pending.acks.length > 1) {
      batch = takeBatch(pending, options.maxRows);
    } else {
      batch = pending;
      pending = emptyBatch();
    }
    overdue = hasPending();
    const p: Promise<void> = write(batch).finally(() => {
      inFlight.delete(p);
      // Readings that found every slot busy are due: write them in the slot just freed.
      if (overdue) void flush();
      else if (hasPending()) schedule();
    });
    inFlight.add(p);
    // The rest of a batch cut at maxRows is due too: another free slot takes it now.
    if (overdue) void flush();
    return p;
  }

  /** Commits spooled segments oldest first; back to direct writes when none is left. */
  function startReplay(): void {
    if (replaying || stopped) return;
    replaying = (async () => {
      let delayMs = 200;
      while (!stopped) {
        await spool.rotate();
        const segments = await spool.closedSegments();
        if (segments.length === 0) {
          // Nothing on disk and nothing being written: the database has it all.
          if (!spool.writing()) toDirectMode();
          if (mode === 'direct') break;
          continue;
        }
        try {
          for (const segment of segments) await replaySegment(segment);
          delayMs = 200;
          state.replayError = null;
          logger.info({ segments: segments.length }, 'spooled readings committed');
        } catch (err) {
          const cause = err instanceof UnwrittenError ? err.cause : err;
          const now = Date.now();
          state.replayError = {
            message: describeDbError(cause),
            sinceMs: state.replayError?.sinceMs ?? now,
            lastMs: now,
          };
          logger.warn({ err: cause, retryInMs: delayMs }, 'database still unavailable; spool kept');
          await new Promise((r) => setTimeout(r, delayMs).unref());
          delayMs = Math.min(delayMs * 2, 5000);
        }
      }
    })().finally(() => {
      replaying = null;
    });
  }

  return {
    counters,
    mode: () => mode,
    /** Since when writes go to the spool, and the replayer's failure while it lasts. */
    state: () => state as Readonly<typeof state>,
    /** Replays what a previous run left in the spool; call once at start. */
    async recover(): Promise<void> {
      const left = await spool.open();
      if (left > 0) {
        logger.info({ segments: left }, 'spool from a previous run found; replaying');
        toSpoolMode();
        startReplay();
      }
    },
    add(deviceId: string, timeMs: number, json: string, metrics: Record<string, unknown>): void {
      pending.deviceIds.push(deviceId);
      pending.timesMs.push(timeMs);
      pending.data.push(json);
      pending.metrics.push(metrics);
    },
    /** Acknowledge the publish whose readings were just added, once they are durable. */
    ackWhenDurable(ack: Ack): void {
      pending.acks.push(ack);
      pending.ackEnds.push(pending.deviceIds.length);
      if (pending.deviceIds.length >= options.maxRows) void flush();
      else schedule();
    },
    pendingRows: () => pending.deviceIds.length,
    /** Makes everything held durable, then waits for the spool to reach the database. */
    async drain(options_: { waitForReplay?: boolean } = {}): Promise<void> {
      if (timer) clearTimeout(timer);
      timer = null;
      while (hasPending() || inFlight.size > 0) {
        void flush();
        await Promise.all(inFlight);
      }
      if (options_.waitForReplay !== false) while (replaying) await replaying;
    },
    /** Stops timers and the replayer after making held readings durable. */
    async stop(): Promise<void> {
      await this.drain({ waitForReplay: false });
      stopped = true;
      if (timer) clearTimeout(timer);
      while (replaying) await replaying;
      await spool.close();
    },
  };
}

export type BatchWriter = ReturnType<typeof createBatchWriter>;
