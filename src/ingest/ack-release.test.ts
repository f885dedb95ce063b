import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { releaseAcks } from './ack-release.js';

describe('releasing a batch’s acks', () => {
  it('calls every ack once, in order, a slice per turn of the event loop', async () => {
    const called: number[] = [];
    const failure = new Error('refused');
    const errors = new Set<Error | null>();
    const acks = Array.from({ length: 150 }, (_, i) => (err: Error | null) => {
      called.push(i);
      errors.add(err);
    });
    releaseAcks(acks, failure, 64);
    // The first slice at once; the rest wait for the loop to turn.
    expect(called).toHaveLength(64);
    await turn();
    expect(called).toHaveLength(128);
    await turn();
    await turn();
    expect(called).toEqual(acks.map((_, i) => i));
    expect([...errors]).toEqual([failure]);
  });

  it('does nothing for no acks', () => {
    expect(() => releaseAcks([], null)).not.toThrow();
  });
});
