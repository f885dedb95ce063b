/**
 * Acks released per turn of the event loop. Each ack completes a device's
 * publish, and Aedes then reads that device's socket again and handles what
 * it sent meanwhile, synchronously. A committed batch acknowledges the
 * publishes of hundreds of devices at once; released together they made one
 * task of 15–40 ms in which everything else waited, the alarm path's
 * database answers included (#17, docs/benchmarks.md). 64 at a time keep a
 * task to a few milliseconds and let the waiting answers in between.
 */
export const acksPerTurn = 64;

/** Calls every ack with `err`, in order, `perTurn` at a time with a turn of the loop between. */
export function releaseAcks(
  acks: readonly ((err: Error | null) => void)[],
  err: Error | null,
  perTurn: number = acksPerTurn,
): void {
  const slice = (from: number) => {
    const end = Math.min(from + perTurn, acks.length);
    for (let i = from; i < end; i++) acks[i]!(err);
    if (end < acks.length) setImmediate(slice, end);
  };
  slice(0);
}
