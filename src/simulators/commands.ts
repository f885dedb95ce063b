import {
  findCommand,
  type CommandAck,
  type CommandMessage,
  type FacilityType,
} from '../domain/index.js';

/**
 * How a simulated device answers a command (#6): it applies what it
 * understands to its own state and acknowledges; anything else is a failed
 * ack with the reason. Pure, so the simulators' answers are testable.
 */
export interface ActuatorState {
  on?: boolean;
  dim?: number;
  pumpsRunning?: Record<number, boolean>;
  valveOpen?: boolean;
}

export function answerCommand(
  type: FacilityType,
  payload: Buffer | string,
  state: ActuatorState,
): CommandAck | null {
  let message: CommandMessage;
  try {
    message = JSON.parse(payload.toString()) as CommandMessage;
  } catch {
    return null;
  }
  if (typeof message?.id !== 'string') return null;
  const fail = (error: string): CommandAck => ({ id: message.id, ok: false, error });
  if (!findCommand(type, message.name)) return fail(`${type} does not know ${message.name}`);
  const args = message.args ?? {};
  switch (`${type}/${message.name}`) {
    case 'streetlight/on':
      state.on = true;
      state.dim = state.dim ?? 100;
      break;
    case 'streetlight/off':
      state.on = false;
      break;
    case 'streetlight/dim': {
      const level = Number(args.level);
      if (!(level >= 0 && level <= 100)) return fail('level must be 0–100');
      state.dim = level;
      state.on = level > 0;
      break;
    }
    case 'pump_station/start':
    case 'pump_station/stop': {
      const pump = Number(args.pump ?? 1);
      state.pumpsRunning = { ...state.pumpsRunning, [pump]: message.name === 'start' };
      break;
    }
    case 'gas/valve_close':
      state.valveOpen = false;
      break;
  }
  return { id: message.id, ok: true, result: { ...state } };
}
