/**
 * What the hashing threads' priority (`LOGIN_HASH_NICE`, decision 0212)
 * costs a login: one password verification at the password cost, at each
 * nice value, on an idle machine and with `--busy` (4) processes spinning at
 * normal priority (a saturated hub). Medians of `--runs` (5) verifications.
 * The last line is one JSON object.
 * Run: npx tsx bench/hash-priority.ts [--busy 4] [--runs 5] [--nice 0,5,10]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { createPasswordHasher } from '../src/dashboard/index.js';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const busy = Number(arg('busy', '4'));
const runs = Number(arg('runs', '5'));
const nices = arg('nice', '0,5,10').split(',').map(Number);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

async function verifyMs(nice: number): Promise<number> {
  const hasher = createPasswordHasher({ threads: 1, nice });
  const stored = await hasher.hash('a-password');
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await hasher.verify('a-wrong-password', stored);
    times.push(performance.now() - t0);
  }
  await hasher.close();
  return Math.round(median(times));
}

const result: Record<string, Record<string, number>> = { idle: {}, busy: {} };
for (const nice of nices) result.idle![`nice_${nice}_ms`] = await verifyMs(nice);
const spinners: ChildProcess[] = Array.from({ length: busy }, () =>
  spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' }),
);
try {
  await new Promise((r) => setTimeout(r, 500));
  for (const nice of nices) result.busy![`nice_${nice}_ms`] = await verifyMs(nice);
} finally {
  for (const s of spinners) s.kill('SIGKILL');
}
for (const [load, row] of Object.entries(result))
  console.log(`${load === 'idle' ? 'idle' : `${busy} busy processes`}: ${JSON.stringify(row)}`);
console.log(JSON.stringify({ cpus: os.availableParallelism(), busy, runs, ...result }));
