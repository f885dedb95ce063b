import type { FacilityType } from './facilities.js';

/**
 * Commands the hub sends to devices on `devices/{id}/commands` (docs/mqtt.md,
 * "Commands"). One table: which facility type takes which command, and the
 * shape of its arguments. The wire payloads are typed here, once.
 */
export interface CommandSpec {
  readonly type: FacilityType;
  readonly name: string;
  /** JSON schema of `args`. */
  readonly args: Record<string, unknown>;
}

const noArgs = { type: 'object', additionalProperties: false, properties: {} } as const;
const pumpArgs = {
  type: 'object',
  additionalProperties: false,
  properties: { pump: { type: 'integer', minimum: 1, maximum: 9 } },
} as const;

export const commandCatalog: readonly CommandSpec[] = [
  { type: 'streetlight', name: 'on', args: noArgs },
  { type: 'streetlight', name: 'off', args: noArgs },
  {
    type: 'streetlight',
    name: 'dim',
    args: {
      type: 'object',
      additionalProperties: false,
      required: ['level'],
      properties: { level: { type: 'number', minimum: 0, maximum: 100 } },
    },
  },
  { type: 'pump_station', name: 'start', args: pumpArgs },
  { type: 'pump_station', name: 'stop', args: pumpArgs },
  { type: 'gas', name: 'valve_close', args: noArgs },
];

export function findCommand(type: FacilityType, name: string): CommandSpec | undefined {
  return commandCatalog.find((c) => c.type === type && c.name === name);
}

export const commandStates = ['sent', 'acknowledged', 'failed', 'timed_out'] as const;
export type CommandState = (typeof commandStates)[number];

/** Hub → device, on `devices/{id}/commands`. */
export interface CommandMessage {
  readonly id: string;
  readonly name: string;
  readonly args: Record<string, unknown>;
  /** Epoch ms when the hub sent it. */
  readonly ts: number;
}

/** Device → hub, on `devices/{id}/commands/ack`. */
export interface CommandAck {
  readonly id: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly result?: unknown;
}

/** A command ack as devices send it, or null when the payload is not one. */
export function parseCommandAck(payload: Buffer | string): CommandAck | null {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString());
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'string' || typeof v.ok !== 'boolean') return null;
  return {
    id: v.id,
    ok: v.ok,
    ...(typeof v.error === 'string' ? { error: v.error.slice(0, 500) } : {}),
    ...(v.result !== undefined ? { result: v.result } : {}),
  };
}

/** The retained payload of `devices/{id}/status`. */
export interface DeviceStatusMessage {
  readonly online: boolean;
  readonly ts: number;
}
