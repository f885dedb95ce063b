import { describe, expect, it } from 'vitest';
import { caseStates } from '../domain/index.js';
import { availableActions, caseActions, nextState, roleMay, transitions } from './workflow.js';

describe('the case transition table', () => {
  it('walks the seven stages from registered to closed', () => {
    let state = nextState('registered', 'dispatch');
    expect(state).toBe('dispatched');
    for (const [action, to] of [
      ['accept', 'in_handling'],
      ['handle', 'handled'],
      ['verify', 'verified'],
      ['close', 'closed'],
    ] as const) {
      state = nextState(state!, action);
      expect(state).toBe(to);
    }
  });

  it('sends a verified case back to handling (返工) and refuses to close an unverified one', () => {
    expect(nextState('verified', 'rework')).toBe('in_handling');
    expect(nextState('handled', 'close')).toBeNull();
    expect(nextState('closed', 'comment')).toBeNull();
    expect(nextState('cancelled', 'dispatch')).toBeNull();
  });

  it('keeps the state for an extension and a comment', () => {
    expect(nextState('in_handling', 'extend')).toBe('in_handling');
    expect(nextState('dispatched', 'comment')).toBe('dispatched');
  });

  it('names only real states and gives every action at least one role besides admin', () => {
    for (const action of caseActions) {
      const t = transitions[action];
      for (const s of t.from) expect(caseStates).toContain(s);
      if (t.to) expect(caseStates).toContain(t.to);
      expect(t.roles.length).toBeGreaterThan(0);
    }
  });

  it('lets a crew accept and report but not verify, and a viewer do nothing', () => {
    expect(roleMay('crew', 'accept')).toBe(true);
    expect(roleMay('crew', 'verify')).toBe(false);
    expect(roleMay('admin', 'verify')).toBe(true);
    expect(availableActions('dispatched', 'viewer')).toEqual([]);
    expect(availableActions('dispatched', 'crew')).toEqual(['accept', 'return', 'comment']);
  });
});
