import type { FastifyInstance } from 'fastify';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseCsv } from 'csv-parse/sync';
import {
  existingDeviceIds,
  existingGridCodes,
  getDeviceIdentity,
  insertDevices,
  setDeviceSecretHash,
  updateDevice,
  getDevice,
  type CommandRecord,
  type DeviceIdentity,
  type NewDevice,
  type Queryable,
} from '../db/index.js';
import {
  HubError,
  deviceCommandRoles,
  deviceIdPatternSource,
  facilityTypes,
  gridCodePattern,
  generateSecret,
  hashDeviceSecret,
  isStorableText,
  type FacilityType,
} from '../domain/index.js';
import { requireRole } from './auth.js';
import { charsetOf, decodeCsv, isSupportedCharset } from './csv-text.js';

/** What the device registry needs from the broker room (the hub wires it). */
export interface GatewayDeps {
  /** Makes a registry change live on every broker node (no restart). */
  applyDevice(device: DeviceIdentity): Promise<void>;
  readonly commands: {
    send(
      device: DeviceIdentity,
      name: string,
      args?: Record<string, unknown>,
    ): Promise<CommandRecord>;
    list(deviceId: string, limit: number): Promise<CommandRecord[]>;
  };
}

export interface DeviceRouteDeps {
  readonly db: Queryable;
  readonly gateway?: GatewayDeps;
}

/** Most rows one CSV import takes. */
export const maxImportRows = 100_000;
/** Largest CSV body (100,000 rows of about 300 bytes). */
export const maxImportBytes = 32 * 1024 * 1024;

interface DeviceInput {
  id: string;
  type: FacilityType;
  gridCode: string;
  name: string;
  lat?: number | null;
  lon?: number | null;
  vendor?: string;
  attrs?: Record<string, unknown>;
}

const deviceBody = {
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

const changesBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    name: deviceBody.properties.name,
    gridCode: deviceBody.properties.gridCode,
    lat: deviceBody.properties.lat,
    lon: deviceBody.properties.lon,
    attrs: deviceBody.properties.attrs,
    enabled: { type: 'boolean' },
  },
} as const;

const toNewDevice = (d: DeviceInput, secretHash: string): NewDevice => ({
  id: d.id,
  type: d.type,
  name: d.name,
  gridCode: d.gridCode,
  lat: d.lat ?? null,
  lon: d.lon ?? null,
  attrs: { ...(d.attrs ?? {}), ...(d.vendor ? { vendor: d.vendor } : {}) },
  secretHash,
});

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

/** Device registry and commands (#6); REST contract in docs/api.md and docs/gateway.md. */
export function registerDeviceRoutes(api: FastifyInstance, deps: DeviceRouteDeps): void {
  const { db, gateway } = deps;
  if (!gateway) return;
  const admin = requireRole('admin');

  // Bytes, not a string: the encoding is decided by csv-text.ts (UTF-8 or GBK / GB18030).
  api.addContentTypeParser(
    'text/csv',
    { parseAs: 'buffer', bodyLimit: maxImportBytes },
    (_req, body, done) => done(null, body),
  );

  const apply = async (id: string) => {
    const identity = await getDeviceIdentity(db, id);
    if (!identity) throw new HubError('HUB_ERR_DEVICE_UNKNOWN', id);
    await gateway.applyDevice(identity);
    return identity;
  };

  const createMany = async (inputs: readonly DeviceInput[]) => {
    const secrets = inputs.map(() => generateSecret());
    const hashes = secrets.map(hashDeviceSecret);
    await insertDevices(
      db,
      inputs.map((d, i) => toNewDevice(d, hashes[i]!)),
    ).catch((err: { code?: string }) => {
      // Registered meanwhile by another request (the unique index on lower(id)).
      if (err.code === '23505') throw new HubError('HUB_ERR_DEVICE_EXISTS', 'registered meanwhile');
      throw err;
    });
    for (const [i, d] of inputs.entries()) {
      await gateway.applyDevice({
        id: d.id,
        type: d.type,
        gridCode: d.gridCode,
        secretHash: hashes[i]!,
        enabled: true,
      });
    }
    return inputs.map((d, i) => ({ id: d.id, secret: secrets[i]! }));
  };

  api.post<{ Body: DeviceInput }>(
    '/devices',
    { ...admin, schema: { body: deviceBody } },
    async (req, reply) => {
      const d = req.body;
      if ((await existingDeviceIds(db, [d.id])).size)
        throw new HubError('HUB_ERR_DEVICE_EXISTS', d.id);
      if (!(await existingGridCodes(db, [d.gridCode])).size) {
        throw new HubError('HUB_ERR_BAD_REQUEST', `grid ${d.gridCode} does not exist`);
      }
      const [created] = await createMany([d]);
      const device = await getDevice(db, d.id);
      // The secret is shown here once; only its SHA-256 digest is stored (decision 0135).
      return reply.status(201).send({ device, secret: created!.secret });
    },
  );

  api.patch<{ Params: { id: string }; Body: Record<string, unknown> }>(
    '/devices/:id',
    { ...admin, schema: { body: changesBody } },
    async (req) => {
      const body = req.body as { gridCode?: string };
      if (body.gridCode && !(await existingGridCodes(db, [body.gridCode])).size) {
        throw new HubError('HUB_ERR_BAD_REQUEST', `grid ${body.gridCode} does not exist`);
      }
      const device = await updateDevice(db, req.params.id, req.body);
      if (!device) throw new HubError('HUB_ERR_DEVICE_UNKNOWN', req.params.id);
      await apply(device.id);
      return device;
    },
  );

  for (const [action, enabled] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    api.post<{ Params: { id: string } }>(`/devices/:id/${action}`, admin, async (req) => {
      const device = await updateDevice(db, req.params.id, { enabled });
      if (!device) throw new HubError('HUB_ERR_DEVICE_UNKNOWN', req.params.id);
      // A disabled device connected now is disconnected, on whichever node it is.
      await apply(device.id);
      return device;
    });
  }

  api.post<{ Params: { id: string } }>('/devices/:id/secret', admin, async (req) => {
    const secret = generateSecret();
    const ok = await setDeviceSecretHash(db, req.params.id, hashDeviceSecret(secret));
    if (!ok) throw new HubError('HUB_ERR_DEVICE_UNKNOWN', req.params.id);
    // The old secret stops working now; connected sessions are closed.
    await apply(req.params.id);
    return { id: req.params.id, secret };
  });

  api.post<{ Body: Buffer }>('/devices/import', admin, async (req, reply) => {
    if (!Buffer.isBuffer(req.body)) {
      throw new HubError('HUB_ERR_BAD_REQUEST', 'send the CSV as text/csv');
    }
    const charset = charsetOf(req.headers['content-type']);
    if (!isSupportedCharset(charset)) {
      throw new HubError(
        'HUB_ERR_CSV_ENCODING',
        `charset=${charset}: send UTF-8, or GBK / GB18030 (charset=gbk)`,
      );
    }
    const decoded = decodeCsv(req.body, charset);
    if (!decoded.ok) {
      throw new HubError('HUB_ERR_CSV_ENCODING', `line ${decoded.line}: ${decoded.message}`);
    }
    let records: { record: Record<string, string>; info: { lines: number } }[];
    try {
      records = parseCsv(decoded.text, {
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
    const errors: { line: number; id: string | null; message: string }[] = [];
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
    const taken = await existingDeviceIds(
      db,
      candidates.map((c) => c.device.id),
    );
    const grids = await existingGridCodes(db, [
      ...new Set(candidates.map((c) => c.device.gridCode)),
    ]);
    const good: DeviceInput[] = [];
    for (const { line, device } of candidates) {
      if (taken.has(device.id.toLowerCase()))
        errors.push({
          line,
          id: device.id,
          message: 'HUB_ERR_DEVICE_EXISTS: id already registered (ids are compared ignoring case)',
        });
      else if (!grids.has(device.gridCode))
        errors.push({ line, id: device.id, message: `grid ${device.gridCode} does not exist` });
      else good.push(device);
    }
    errors.sort((a, b) => a.line - b.line);
    const created = good.length ? await createMany(good) : [];
    return reply.status(good.length ? 201 : 400).send({
      imported: created.length,
      rejected: errors.length,
      // Each secret is shown here once.
      devices: created,
      errors,
    });
  });

  api.post<{ Params: { id: string }; Body: { name: string; args?: Record<string, unknown> } }>(
    '/devices/:id/commands',
    {
      // Operators and operator tokens too: the control room starts a pump in a rainstorm.
      ...requireRole(...deviceCommandRoles),
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 64 },
            args: { type: 'object' },
          },
        },
      },
    },
    async (req, reply) => {
      const device = await getDeviceIdentity(db, req.params.id);
      if (!device) throw new HubError('HUB_ERR_DEVICE_UNKNOWN', req.params.id);
      if (!device.enabled) throw new HubError('HUB_ERR_DEVICE_DISABLED', device.id);
      const area = req.user?.areaCode;
      if (area && !device.gridCode.startsWith(area))
        throw new HubError('HUB_ERR_OUT_OF_AREA', `${device.id} is outside area ${area}`);
      const command = await gateway.commands.send(device, req.body.name, req.body.args ?? {});
      return reply.status(202).send(command);
    },
  );

  api.get<{ Params: { id: string }; Querystring: { limit: number } }>(
    '/devices/:id/commands',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        },
      },
    },
    async (req) => {
      const device = await getDevice(db, req.params.id);
      if (!device) throw new HubError('HUB_ERR_DEVICE_UNKNOWN', req.params.id);
      return {
        deviceId: device.id,
        commands: await gateway.commands.list(device.id, req.query.limit),
      };
    },
  );
}
