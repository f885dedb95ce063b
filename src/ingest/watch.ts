import { deviceTopic, type FacilityType } from '../domain/index.js';
import { createDecoder } from './decode.js';

/** Subscribes to one topic of the broker (every node's messages); returns the way to stop. */
export type Tap = (topic: string, onPayload: (payload: Buffer) => void) => () => void;

export interface WatchedReading {
  readonly timeMs: number;
  readonly metrics: Record<string, unknown>;
}

/**
 * Readings of the devices a screen watches (issue #13), taken from the
 * broker per watched device's telemetry topic, not from the ingest path: an
 * unwatched device costs nothing, and in a cluster the reading reaches the
 * API node whose socket watches it, whichever broker node received it.
 * Validated as ingest validates; a bad payload (already dead-lettered by
 * the ingest) is skipped.
 */
export function createReadingWatch(
  tap: Tap,
  typeOf: (deviceId: string) => FacilityType | undefined,
  limits: { maxPayloadBytes: number; maxBatchReadings: number },
) {
  const decoder = createDecoder(limits);
  return {
    watch(deviceId: string, onReadings: (readings: WatchedReading[]) => void): () => void {
      return tap(deviceTopic(deviceId, 'telemetry'), (payload) => {
        const type = typeOf(deviceId);
        if (!type) return;
        const { readings } = decoder.decode(type, payload, Date.now());
        if (readings.length > 0) {
          onReadings(readings.map((r) => ({ timeMs: r.timeMs, metrics: r.metrics })));
        }
      });
    },
  };
}

export type ReadingWatch = ReturnType<typeof createReadingWatch>;
