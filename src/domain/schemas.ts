import {
  facilityCatalog,
  facilityTypes,
  type FacilityType,
  type MetricSpec,
} from './facilities.js';

/** Readings further in the future than this are refused: a device clock is wrong. */
export const maxClockSkewMs = 5 * 60_000;

/**
 * Readings from before this are refused, as epoch ms and as ISO 8601 alike
 * (issue #11): a device whose clock was never set reports 1970 or 1980.
 */
export const minReadingTimeMs = Date.UTC(2000, 0, 1);

type JsonSchema = Record<string, unknown>;

function metricSchema(m: MetricSpec): JsonSchema {
  switch (m.kind) {
    case 'boolean':
      return { type: 'boolean' };
    case 'string':
      return m.values
        ? { type: 'string', enum: m.values }
        : { type: 'string', maxLength: m.maxLength ?? 64 };
    case 'number':
    case 'integer':
      return { type: m.kind, minimum: m.min, maximum: m.max };
  }
}

/**
 * The JSON schema of one reading of a facility type: `ts` (epoch ms or ISO
 * 8601, optional), `seq` (optional message sequence) and the type's metrics.
 * Unknown metrics are refused so a misconfigured device is noticed, not stored.
 */
export function readingSchema(type: FacilityType): JsonSchema {
  const spec = facilityCatalog[type];
  const properties: Record<string, JsonSchema> = {
    ts: {
      anyOf: [
        { type: 'integer', minimum: minReadingTimeMs },
        { type: 'string', format: 'date-time' },
      ],
    },
    seq: { type: 'integer', minimum: 0 },
  };
  for (const m of spec.metrics) properties[m.name] = metricSchema(m);
  const patternProperties: Record<string, JsonSchema> = {};
  for (const p of spec.patternMetrics ?? []) patternProperties[p.pattern] = metricSchema(p.spec);
  return {
    $id: `urban-hub/reading/${type}`,
    title: `${spec.nameEn} (${spec.nameZh}) reading`,
    type: 'object',
    properties,
    patternProperties,
    additionalProperties: false,
    minProperties: 1,
  };
}

export const readingSchemas: Readonly<Record<FacilityType, JsonSchema>> = Object.fromEntries(
  facilityTypes.map((t) => [t, readingSchema(t)]),
) as Record<FacilityType, JsonSchema>;
