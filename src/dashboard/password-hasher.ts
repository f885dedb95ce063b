import { Worker } from 'node:worker_threads';
import {
  hashSecret,
  scryptParams,
  secretCost,
  verifySecret,
  type Scrypt,
} from '../domain/index.js';

/**
 * People's passwords are hashed (scrypt, decision 0003) on threads of their
 * own at a lower CPU priority (decision 0212): a flood of wrong logins then
 * takes only the CPU the broker leaves idle, instead of a core a device
 * reconnect storm needs (#17). Without contention a login costs what it did.
 *
 * The worker is a few lines of plain JavaScript evaluated in the thread (no
 * loader, so it runs the same under tsx, vitest and a build). It lowers its
 * own thread's priority through Linux's per-thread nice value
 * (`/proc/thread-self` names the thread); elsewhere it runs at normal
 * priority and says so.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { scryptSync } = require('node:crypto');
const { readlinkSync } = require('node:fs');
const { setPriority } = require('node:os');
let niced = false;
if (workerData.nice > 0) {
  try {
    setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), workerData.nice);
    niced = true;
  } catch {}
}
parentPort.postMessage({ niced });
parentPort.on('message', (job) => {
  try {
    const key = scryptSync(job.secret, job.salt, job.keyLength, {
      N: job.N, r: job.r, p: job.p, maxmem: 256 * job.N * job.r,
    });
    parentPort.postMessage({ key });
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message) });
  }
});
`;

export interface PasswordHasherOptions {
  /** Threads hashing at once. */
  readonly threads: number;
  /** Nice value of the hashing threads (0 = normal priority, 19 = lowest). */
  readonly nice: number;
  /** Told once whether the priority could be lowered. */
  readonly onStart?: (info: { threads: number; nice: number; niced: boolean }) => void;
}

interface Job {
  readonly secret: string;
  readonly salt: Buffer;
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly resolve: (key: Buffer) => void;
  readonly reject: (err: Error) => void;
}

interface Hasher {
  readonly worker: Worker;
  job: Job | null;
}

export function createPasswordHasher(options: PasswordHasherOptions) {
  const threads = Math.max(1, options.threads);
  const idle: Hasher[] = [];
  const queue: Job[] = [];
  let started = 0;
  let told = false;
  let closed = false;

  const spawn = () => {
    started++;
    const worker = new Worker(workerSource, { eval: true, workerData: { nice: options.nice } });
    // Idle hashing threads must not keep a stopping process alive.
    worker.unref();
    const h: Hasher = { worker, job: null };
    let ready = false;
    worker.on('message', (m: { niced?: boolean; key?: Uint8Array; error?: string }) => {
      if (!ready) {
        ready = true;
        if (!told) {
          told = true;
          options.onStart?.({ threads, nice: options.nice, niced: m.niced === true });
        }
        return free(h);
      }
      const job = h.job;
      h.job = null;
      if (job) {
        if (m.key) job.resolve(Buffer.from(m.key));
        else job.reject(new Error(`password hashing failed: ${m.error}`));
      }
      free(h);
    });
    const gone = (err: Error) => {
      started--;
      const i = idle.indexOf(h);
      if (i >= 0) idle.splice(i, 1);
      h.job?.reject(err);
      h.job = null;
      // Another thread takes the queue on.
      if (!closed && queue.length > 0) spawn();
    };
    worker.on('error', gone);
    worker.on('exit', (code) => {
      if (h.job || idle.includes(h)) gone(new Error(`password hashing thread exited (${code})`));
    });
  };

  const free = (h: Hasher) => {
    const job = queue.shift();
    if (!job) {
      idle.push(h);
      return;
    }
    h.job = job;
    const { secret, salt, N, r, p } = job;
    h.worker.postMessage({ secret, salt, N, r, p, keyLength: scryptParams.keyLength });
  };

  const scrypt: Scrypt = (secret, salt, N, r, p) =>
    new Promise<Buffer>((resolve, reject) => {
      if (closed) return reject(new Error('password hasher closed'));
      queue.push({ secret, salt, N, r, p, resolve, reject });
      const h = idle.pop();
      if (h) free(h);
      else if (started < threads) spawn();
    });

  return {
    /** The domain's check (constant time; a malformed hash verifies nothing), on these threads. */
    verify: (secret: string, stored: string): Promise<boolean> =>
      verifySecret(secret, stored, scrypt),
    /** A new stored hash (the password cost by default), on these threads. */
    hash: (secret: string, N: number = secretCost.password): Promise<string> =>
      hashSecret(secret, N, scrypt),
    async close(): Promise<void> {
      closed = true;
      for (const job of queue.splice(0)) job.reject(new Error('password hasher closed'));
      await Promise.all(idle.splice(0).map((h) => h.worker.terminate()));
    },
  };
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>;
