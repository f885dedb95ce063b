import type { Logger } from 'pino';
import { insertReadings, type Queryable, type ReadingColumns } from '../db/index.js';
import type { Spool } from './spool.js';

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
  };

  function schedule(): void {
    if (timer || stopped) return;
    timer = setTimeout(() => {
      timer = null;
      void flush();
    }, options.flushIntervalMs);
  }

  const settle = (acks: Ack[], err: Error | null) => {
    for (const ack of acks) ack(err);
  };

  async function commit(batch: CommittedBatch): Promise<void> {
    options.beforeCommit?.(batch);
    const { inserted, insertedMask } = await insertReadings(db, batch);
    options.onCommitted?.(batch, insertedMask);
    counters.stored += inserted;
    counters.duplicates += batch.deviceIds.length - inserted;
    counters.batches++;
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
        await commit(batch);
        settle(batch.acks, null);
        return;
      } catch (err) {
        counters.writeErrors++;
        logger.warn(
          { err, rows: batch.deviceIds.length },
          'database write failed; spooling to disk',
        );
        mode = 'spool';
      }
    }
    await toSpool(batch);
    startReplay();
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
          if (!spool.writing()) mode = 'direct';
          if (mode === 'direct') break;
          continue;
        }
        try {
          for (const segment of segments) {
            for (const batch of await spool.read(segment)) {
              await commit(batch);
              counters.replayedBatches++;
            }
            await spool.remove(segment);
          }
          delayMs = 200;
          logger.info({ segments: segments.length }, 'spooled readings committed');
        } catch (err) {
          logger.warn({ err, retryInMs: delayMs }, 'database still unavailable; spool kept');
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
    /** Replays what a previous run left in the spool; call once at start. */
    async recover(): Promise<void> {
      const left = await spool.open();
      if (left > 0) {
        logger.info({ segments: left }, 'spool from a previous run found; replaying');
        mode = 'spool';
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
