import { randomUUID } from 'node:crypto';
import { Ajv } from 'ajv';
import type { Logger } from 'pino';
import {
  insertCommand,
  listCommands,
  settleCommand,
  timeOutCommands,
  type CommandRecord,
  type DeviceIdentity,
  type Queryable,
} from '../db/index.js';
import {
  HubError,
  commandCatalog,
  deviceTopic,
  findCommand,
  parseCommandAck,
  type CommandMessage,
} from '../domain/index.js';

/** Publishes a packet through the broker (any node of a cluster delivers it). */
export type Publisher = (topic: string, payload: string, qos: 0 | 1) => Promise<void>;

const ajv = new Ajv({ allErrors: true });
const validators = new Map(commandCatalog.map((c) => [`${c.type}/${c.name}`, ajv.compile(c.args)]));

/**
 * Commands to devices (#6, docs/mqtt.md "Commands"): validated against the
 * catalogue, stored as `sent`, published QoS 1 on `devices/{id}/commands`;
 * the device's ack on `devices/{id}/commands/ack` settles it as
 * `acknowledged` or `failed`; a sweep marks the rest `timed_out`. State lives
 * in PostgreSQL, so any node may settle a command another node sent.
 */
export function createCommandService(
  db: Queryable,
  publish: Publisher,
  options: { timeoutMs: number },
  logger: Logger,
) {
  const counters = { sent: 0, acknowledged: 0, failed: 0, timedOut: 0, badAcks: 0 };
  const sweepMs = Math.max(50, Math.min(5000, Math.floor(options.timeoutMs / 4)));
  const sweep = () =>
    timeOutCommands(db, options.timeoutMs).then(
      (n) => {
        counters.timedOut += n;
      },
      (err: unknown) => logger.warn({ err }, 'command timeout sweep failed'),
    );
  const timer = setInterval(() => void sweep(), sweepMs);
  timer.unref();
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => {});
    return p;
  };

  return {
    counters,
    async send(
      device: DeviceIdentity,
      name: string,
      args: Record<string, unknown> = {},
    ): Promise<CommandRecord> {
      const spec = findCommand(device.type, name);
      const validate = validators.get(`${device.type}/${name}`);
      if (!spec || !validate) {
        const names = commandCatalog.filter((c) => c.type === device.type).map((c) => c.name);
        throw new HubError(
          'HUB_ERR_COMMAND_UNKNOWN',
          `${device.type} takes ${names.length ? names.join(', ') : 'no commands'}, not ${JSON.stringify(name)}`,
        );
      }
      if (!validate(args)) {
        throw new HubError('HUB_ERR_COMMAND_UNKNOWN', ajv.errorsText(validate.errors));
      }
      const record = await insertCommand(db, { id: randomUUID(), deviceId: device.id, name, args });
      const message: CommandMessage = { id: record.id, name, args, ts: Date.now() };
      await publish(deviceTopic(device.id, 'commands'), JSON.stringify(message), 1);
      counters.sent++;
      logger.info({ deviceId: device.id, commandId: record.id, name }, 'command sent');
      return record;
    },
    /** A device's publish on its own `commands/ack` topic; bad acks are counted and logged. */
    handleAck(device: DeviceIdentity, payload: Buffer): void {
      const ack = parseCommandAck(payload);
      if (!ack) {
        counters.badAcks++;
        logger.warn({ deviceId: device.id }, 'command ack is not {"id": string, "ok": boolean}');
        return;
      }
      void track(
        settleCommand(db, ack.id, device.id, {
          state: ack.ok ? 'acknowledged' : 'failed',
          error: ack.error ?? null,
          result: ack.result,
        }).then(
          (settled) => {
            if (settled) counters[ack.ok ? 'acknowledged' : 'failed']++;
            else
              logger.debug({ deviceId: device.id, commandId: ack.id }, 'ack for no open command');
          },
          (err: unknown) => logger.warn({ err, deviceId: device.id }, 'command ack not stored'),
        ),
      );
    },
    list: (deviceId: string, limit: number) => listCommands(db, deviceId, limit),
    sweep,
    async stop(): Promise<void> {
      clearInterval(timer);
      await Promise.allSettled([...inFlight]);
    },
  };
}

export type CommandService = ReturnType<typeof createCommandService>;
