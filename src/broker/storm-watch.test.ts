import { describe, expect, it } from 'vitest';
import { createStormWatch } from './storm-watch.js';

describe('the storm watch', () => {
  it('sees a storm in the current or the last whole second, and forgets it after a quiet one', () => {
    let clock = 0;
    let connects = 0;
    const storming = createStormWatch(
      () => connects,
      100,
      () => clock,
    );
    expect(storming()).toBe(false);
    connects = 99;
    clock = 500;
    expect(storming()).toBe(false);
    connects = 100;
    expect(storming()).toBe(true); // 100 within this second already
    clock = 1000;
    connects = 110;
    expect(storming()).toBe(true); // the last second had 110
    clock = 2000;
    expect(storming()).toBe(false); // no connect in the second since
    connects = 500;
    clock = 9000;
    expect(storming()).toBe(false); // 390 over seven seconds is no storm
  });

  it('is off at 0 connects a second', () => {
    let connects = 0;
    const storming = createStormWatch(
      () => connects,
      0,
      () => 0,
    );
    connects = 1e6;
    expect(storming()).toBe(false);
  });
});
