import { describe, expect, it } from 'vitest';
import { answerCommand, type ActuatorState } from './commands.js';

const cmd = (name: string, args: Record<string, unknown> = {}) =>
  JSON.stringify({ id: 'c1', name, args, ts: 0 });

describe('a simulated device answering commands', () => {
  it('dims a streetlight and acknowledges with its new state', () => {
    const state: ActuatorState = {};
    expect(answerCommand('streetlight', cmd('dim', { level: 40 }), state)).toEqual({
      id: 'c1',
      ok: true,
      result: { dim: 40, on: true },
    });
    expect(answerCommand('streetlight', cmd('off'), state)?.ok).toBe(true);
    expect(state.on).toBe(false);
  });

  it('starts and stops a pump and closes a gas valve', () => {
    const pump: ActuatorState = {};
    answerCommand('pump_station', cmd('start', { pump: 2 }), pump);
    expect(pump.pumpsRunning).toEqual({ 2: true });
    answerCommand('pump_station', cmd('stop', { pump: 2 }), pump);
    expect(pump.pumpsRunning).toEqual({ 2: false });
    const valve: ActuatorState = { valveOpen: true };
    expect(answerCommand('gas', cmd('valve_close'), valve)?.ok).toBe(true);
    expect(valve.valveOpen).toBe(false);
  });

  it('fails a command its type does not know, and ignores a payload that is not a command', () => {
    expect(answerCommand('manhole', cmd('on'), {})).toEqual({
      id: 'c1',
      ok: false,
      error: 'manhole does not know on',
    });
    expect(answerCommand('gas', 'not json', {})).toBeNull();
  });
});
