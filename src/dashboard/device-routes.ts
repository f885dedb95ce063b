import type { FastifyInstance } from 'fastify';
import {
  existingDeviceIds,
  existingGridCodes,
  getDeviceIdentity,
  insertDevices,
  setDeviceSecretHash,
  updateDevice,
  getDevice,
  getDeviceStatuses,
  listDevices,
  type CommandRecord,
  type DeviceIdentity,
  type NewDevice,
  type Queryable,
} from '../db/index.js';
import {
  HubError,
  deviceCommandRoles,
  facilityTypes,
  generateSecret,
  hashDeviceSecret,
} from '../domain/index.js';
import { anyUser, requireRole } from './auth.js';
import { charsetOf, decodeCsv, isSupportedCharset } from './csv-text.js';
import { deviceBody, readImport, type DeviceInput } from './device-import.js';
import { page } from './query.js';

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
  /** Whether this node's broker holds a connection of the device now. */
  readonly isOnline: (deviceId: string) => boolean;
  /** Absent: the registry is read-only (no broker room in this process). */
  readonly gateway?: GatewayDeps;
}

/** Largest CSV body (100,000 rows of about 300 bytes). */
export const maxImportBytes = 32 * 1024 * 1024;

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

/** The device registry, its status and commands (#6); REST contract in docs/api.md and docs/gateway.md. */
export function registerDeviceRoutes(api: FastifyInstance, deps: DeviceRouteDeps): void {
  const { db, gateway, isOnline } = deps;

  api.get<{ Querystring: { type?: string; grid?: string; limit: number; offset: number } }>(
    '/devices',
    {
      ...anyUser,
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            type: { enum: [...facilityTypes] },
            grid: { type: 'string', pattern: '^\\d{1,15}$' },
            ...page,
          },
        },
      },
    },
    async (req) => {
      const { total, devices } = await listDevices(db, {
        type: req.query.type,
        gridCode: req.query.grid,
        limit: req.query.limit,
        offset: req.query.offset,
      });
      // Status record of #6: online, last seen, address, protocol (null: never connected).
      const statuses = await getDeviceStatuses(
        db,
        devices.map((d) => d.id),
      );
      return {
        total,
        devices: devices.map((d) => {
          const status = statuses.get(d.id) ?? null;
          // This node's live view, or what another node of a cluster last recorded.
          return { ...d, online: isOnline(d.id) || status?.online === true, status };
        }),
      };
    },
  );

  api.get<{ Params: { id: string } }>('/devices/:id', anyUser, async (req) => {
    const device = await getDevice(db, req.params.id);
    if (!device) throw new HubError('HUB_ERR_DEVICE_UNKNOWN', req.params.id);
    const status = (await getDeviceStatuses(db, [device.id])).get(device.id) ?? null;
    return { ...device, online: isOnline(device.id) || status?.online === true, status };
  });

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
    const { errors, candidates } = readImport(decoded.text);
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
      ...anyUser,
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
