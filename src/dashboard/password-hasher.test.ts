import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { hashSecret, verifySecret } from '../domain/index.js';
import { createPasswordHasher, type PasswordHasher } from './password-hasher.js';

const cheap = 1 << 10;

/** Nice values of this process's threads (Linux), from /proc/self/task/<tid>/stat. */
const threadNices = (): number[] =>
  readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // Fields after the command's closing parenthesis: state is field 3, nice field 19.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });

describe('the password hasher', () => {
  let hasher: PasswordHasher | undefined;
  afterEach(async () => {
    await hasher?.close();
    hasher = undefined;
  });

  it('hashes and verifies on its own threads, in the format the domain reads and writes', async () => {
    hasher = createPasswordHasher({ threads: 2, nice: 0 });
    const stored = await hasher.hash('correct horse', cheap);
    expect(stored).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(await verifySecret('correct horse', stored)).toBe(true);
    const fromDomain = await hashSecret('battery staple', cheap);
    const verdicts = await Promise.all([
      hasher.verify('battery staple', fromDomain),
      hasher.verify('battery stapler', fromDomain),
      hasher.verify('correct horse', stored),
      hasher.verify('anything', 'scrypt$not$a$hash'),
    ]);
    expect(verdicts).toEqual([true, false, true, false]);
    // NUL, a control character, a lone surrogate, CJK: both sides encode them the same way.
    const nasty = 'a\u0000b\u0007\ud800c密码';
    expect(await verifySecret(nasty, await hasher.hash(nasty, cheap))).toBe(true);
    expect(await hasher.verify(nasty, await hashSecret(nasty, cheap))).toBe(true);
    expect(await hasher.verify('a\u0000b', await hashSecret(nasty, cheap))).toBe(false);
  });

  it.runIf(process.platform === 'linux')(
    'lowers the priority of its threads only, and says so',
    async () => {
      let started: { niced: boolean; nice: number } | undefined;
      hasher = createPasswordHasher({ threads: 1, nice: 10, onStart: (i) => (started = i) });
      expect(await hasher.verify('x', await hasher.hash('x', cheap))).toBe(true);
      expect(started).toMatchObject({ niced: true, nice: 10 });
      const nices = threadNices();
      expect(nices.filter((n) => n === 10)).toHaveLength(1);
      // The event loop's thread keeps its priority.
      expect(nices[0]).toBe(0);
    },
  );

  it('refuses work once closed', async () => {
    hasher = createPasswordHasher({ threads: 1, nice: 0 });
    await hasher.close();
    await expect(hasher.hash('x', cheap)).rejects.toThrow(/closed/);
  });
});
