import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseCsv } from 'csv-parse/sync';
import {
  HubError,
  deviceIdPatternSource,
  facilityTypes,
  gridCodePattern,
  isStorableText,
  type FacilityType,
} from '../domain/index.js';

/** Most rows one CSV import takes. */
export const maxImportRows = 100_000;

export interface DeviceInput {
  id: string;
  type: FacilityType;
  gridCode: string;
  name: string;
  lat?: number | null;
  lon?: number | null;
  vendor?: string;
  attrs?: Record<string, unknown>;
}

/** A device as POST /devices takes it, and a CSV row once read. */
export const deviceBody = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'type', 'gridCode', 'name'],
  properties: {
    id: { type: 'string', pattern: deviceIdPatternSource },
    type: { enum: [...facilityTypes] },
    gridCode: { type: 'string', pattern: gridCodePattern },
    name: { type: 'string', minLength: 1, maxLength: 200 },
    lat: { type: ['number', 'null'], minimum: -90, maximum: 90 },
    lon: { type: ['number', 'null'], minimum: -180, maximum: 180 },
    vendor: { type: 'string', maxLength: 100 },
    attrs: { type: 'object' },
  },
} as const;

/**
 * A CSV row is held to the REST body's schema (`deviceBody`: id pattern,
 * name ≤ 200, coordinates in range, vendor ≤ 100), compiled once here.
 */
const validateImported = new Ajv({ strict: false }).compile<DeviceInput>(deviceBody);

/** CSV columns by the schema's property names. */
const csvColumn: Record<string, string> = { gridCode: 'grid' };

function rowProblem(e: ErrorObject, d: Record<string, unknown>): string {
  const field = e.instancePath.slice(1);
  const column = csvColumn[field] ?? field;
  const allowed =
    e.keyword === 'enum'
      ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})`
      : '';
  const value = d[field];
  const shown = typeof value === 'string' && value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return `${column} ${JSON.stringify(shown ?? '')} ${e.message ?? 'is invalid'}${allowed}`;
}

/** One CSV row → a device, or the reason it is not one. */
function rowToDevice(row: Record<string, string>): DeviceInput | string {
  for (const [column, value] of Object.entries(row)) {
    if (!isStorableText(value)) return `${column} holds a NUL character or a lone surrogate`;
  }
  const number = (raw: string | undefined): number | string | undefined => {
    const text = (raw ?? '').trim();
    if (text === '') return undefined;
    const v = Number(text);
    return Number.isFinite(v) ? v : text;
  };
  const candidate: Record<string, unknown> = {
    id: row.id ?? '',
    type: row.type ?? '',
    gridCode: row.grid ?? '',
    name: (row.name ?? '').trim(),
  };
  const lat = number(row.lat);
  const lon = number(row.lon);
  const vendor = (row.vendor ?? '').trim();
  if (lat !== undefined) candidate.lat = lat;
  if (lon !== undefined) candidate.lon = lon;
  if (vendor) candidate.vendor = vendor;
  if (!validateImported(candidate)) return rowProblem(validateImported.errors![0]!, candidate);
  return candidate as unknown as DeviceInput;
}

/** A row the import refused, by its line in the file. */
export interface ImportError {
  line: number;
  id: string | null;
  message: string;
}

/**
 * The CSV text of an import → the devices it names, by line, and the rows it
 * refused; the registry's checks (taken ids, unknown grids) come after.
 */
export function readImport(text: string): {
  errors: ImportError[];
  candidates: { line: number; device: DeviceInput }[];
} {
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parseCsv(text, {
      columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()),
      info: true,
      skip_empty_lines: true,
      trim: true,
      relax_column_count: true,
      bom: true,
    }) as typeof records;
  } catch (err) {
    const e = err as Error & { lines?: number };
    throw new HubError(
      'HUB_ERR_BAD_REQUEST',
      `CSV unreadable at line ${e.lines ?? '?'}: ${e.message}`,
    );
  }
  if (records.length > maxImportRows) {
    throw new HubError('HUB_ERR_BAD_REQUEST', `at most ${maxImportRows} rows per import`);
  }
  const errors: ImportError[] = [];
  const candidates: { line: number; device: DeviceInput }[] = [];
  // Ids are one device whatever their case (fx-001 = FX-001): keys are lower-cased.
  const seen = new Set<string>();
  for (const { record, info } of records) {
    const parsed = rowToDevice(record);
    const id = record.id && isStorableText(record.id) ? record.id.slice(0, 64) : null;
    if (typeof parsed === 'string') errors.push({ line: info.lines, id, message: parsed });
    else if (seen.has(parsed.id.toLowerCase()))
      errors.push({
        line: info.lines,
        id,
        message: 'id repeated in this file (ids are compared ignoring case)',
      });
    else {
      seen.add(parsed.id.toLowerCase());
      candidates.push({ line: info.lines, device: parsed });
    }
  }
  return { errors, candidates };
}
