import { describe, expect, it } from 'vitest';
import './embedded.js';

describe('importing the embedded PostgreSQL', () => {
  it('leaves no exit hook that would replace a failing exit code or race the hub shutdown', () => {
    // async-exit-hook's handlers close over `eventFilters`; none may stay registered.
    for (const event of ['beforeExit', 'exit', 'SIGINT', 'SIGTERM'] as const) {
      const foreign = process
        .listeners(event as 'beforeExit')
        .filter((l) => String(l).includes('eventFilters'));
      expect(foreign, event).toEqual([]);
    }
  });
});
