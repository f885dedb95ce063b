import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { unstorableJson } from '../db/index.js';
import {
  facilityTypes,
  maxClockSkewMs,
  minReadingTimeMs,
  readingSchemas,
  type FacilityType,
  type HubErrorCode,
} from '../domain/index.js';

/** A reading that passed validation: its time and its metrics as JSON text for storage. */
export interface Reading {
  readonly timeMs: number;
  readonly metrics: Record<string, unknown>;
  readonly json: string;
}

export interface Rejection {
  readonly code: HubErrorCode;
  readonly reason: string;
  /** Position in a batch payload; 0 for a single object. */
  readonly index: number;
}

export interface Decoded {
  readonly readings: Reading[];
  readonly rejections: Rejection[];
}

export interface DecoderOptions {
  readonly maxPayloadBytes: number;
  /** Most readings one batch payload may carry. */
  readonly maxBatchReadings: number;
}

const keywordCodes: Record<string, HubErrorCode> = {
  additionalProperties: 'HUB_ERR_PAYLOAD_UNKNOWN_METRIC',
  minimum: 'HUB_ERR_PAYLOAD_RANGE',
  maximum: 'HUB_ERR_PAYLOAD_RANGE',
  type: 'HUB_ERR_PAYLOAD_TYPE',
  enum: 'HUB_ERR_PAYLOAD_TYPE',
  maxLength: 'HUB_ERR_PAYLOAD_TYPE',
  minProperties: 'HUB_ERR_PAYLOAD_SHAPE',
};

function describe(errors: readonly ErrorObject[]): { code: HubErrorCode; reason: string } {
  // Errors under `ts` (anyOf) are timestamp errors whatever ajv's keyword.
  const tsError = errors.find((e) => e.instancePath === '/ts');
  if (tsError)
    return {
      code: 'HUB_ERR_PAYLOAD_TIMESTAMP',
      reason: 'ts must be epoch milliseconds or ISO 8601',
    };
  const e = errors[0]!;
  const field = e.instancePath.slice(1);
  if (e.keyword === 'additionalProperties') {
    const metric = String((e.params as { additionalProperty?: string }).additionalProperty);
    return { code: 'HUB_ERR_PAYLOAD_UNKNOWN_METRIC', reason: `unknown metric "${metric}"` };
  }
  return {
    code: keywordCodes[e.keyword] ?? 'HUB_ERR_PAYLOAD_SHAPE',
    reason: field ? `${field} ${e.message ?? 'is invalid'}` : (e.message ?? 'invalid reading'),
  };
}

/**
 * Decodes and validates device payloads: a JSON object, or an array of them,
 * against the facility type's schema. Never throws on device input: every
 * problem becomes a rejection with a stable code.
 */
export function createDecoder(options: DecoderOptions) {
  const ajv = new Ajv({ allErrors: false, strict: true });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  const validators = new Map<FacilityType, ValidateFunction>();
  for (const t of facilityTypes) validators.set(t, ajv.compile(readingSchemas[t]));

  function decodeOne(
    type: FacilityType,
    value: unknown,
    index: number,
    receivedMs: number,
    out: Decoded,
  ): void {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      out.rejections.push({
        code: 'HUB_ERR_PAYLOAD_SHAPE',
        reason: 'a reading must be a JSON object',
        index,
      });
      return;
    }
    const validate = validators.get(type)!;
    if (!validate(value)) {
      out.rejections.push({ ...describe(validate.errors ?? []), index });
      return;
    }
    const {
      ts,
      seq: _seq,
      ...metrics
    } = value as Record<string, unknown> & { ts?: number | string };
    // Readings without ts in one batch payload get successive milliseconds, so none
    // collides with another on the (device, time) key.
    let timeMs = receivedMs + index;
    if (ts !== undefined) {
      timeMs = typeof ts === 'number' ? ts : Date.parse(ts);
      if (!Number.isFinite(timeMs) || timeMs > receivedMs + maxClockSkewMs) {
        out.rejections.push({
          code: 'HUB_ERR_PAYLOAD_TIMESTAMP',
          reason: `ts ${JSON.stringify(ts)} is more than ${maxClockSkewMs / 60000} min ahead of the hub clock`,
          index,
        });
        return;
      }
      // The schema holds numbers to the floor; an ISO string is held here, by the same constant.
      if (timeMs < minReadingTimeMs) {
        out.rejections.push({
          code: 'HUB_ERR_PAYLOAD_TIMESTAMP',
          reason: `ts ${JSON.stringify(ts)} is before 2000-01-01`,
          index,
        });
        return;
      }
    }
    if (Object.keys(metrics).length === 0) {
      out.rejections.push({
        code: 'HUB_ERR_PAYLOAD_SHAPE',
        reason: 'a reading carries no metric',
        index,
      });
      return;
    }
    const json = JSON.stringify(metrics);
    // What the schema lets through may still be text PostgreSQL refuses (a NUL, a lone
    // surrogate): refused here, it cannot stop a batch (issue 11). One scan of the JSON text.
    const unstorable = unstorableJson(json);
    if (unstorable !== null) {
      out.rejections.push({ code: 'HUB_ERR_PAYLOAD_UNSTORABLE', reason: unstorable, index });
      return;
    }
    out.readings.push({ timeMs, metrics, json });
  }

  return {
    decode(type: FacilityType, payload: Buffer, receivedMs: number): Decoded {
      const out: Decoded = { readings: [], rejections: [] };
      if (payload.length > options.maxPayloadBytes) {
        out.rejections.push({
          code: 'HUB_ERR_PAYLOAD_TOO_LARGE',
          reason: `${payload.length} bytes, limit ${options.maxPayloadBytes}`,
          index: 0,
        });
        return out;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(payload.toString('utf8'));
      } catch (err) {
        out.rejections.push({
          code: 'HUB_ERR_PAYLOAD_JSON',
          reason: (err as Error).message,
          index: 0,
        });
        return out;
      }
      if (Array.isArray(parsed)) {
        // An empty batch would end neither stored nor dead-lettered: silently lost (issue 11 fuzz).
        if (parsed.length === 0) {
          out.rejections.push({
            code: 'HUB_ERR_PAYLOAD_SHAPE',
            reason: 'a batch carries no reading',
            index: 0,
          });
          return out;
        }
        if (parsed.length > options.maxBatchReadings) {
          out.rejections.push({
            code: 'HUB_ERR_PAYLOAD_BATCH_TOO_LARGE',
            reason: `${parsed.length} readings, limit ${options.maxBatchReadings}`,
            index: 0,
          });
          return out;
        }
        for (let i = 0; i < parsed.length; i++) decodeOne(type, parsed[i], i, receivedMs, out);
      } else {
        decodeOne(type, parsed, 0, receivedMs, out);
      }
      return out;
    },
  };
}

export type Decoder = ReturnType<typeof createDecoder>;
