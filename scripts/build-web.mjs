// Builds the web UI (web/ → web/dist) when it is missing or stale, so that
// `npm ci && npm start` serve it on a fresh machine with no third command
// (issue #13). Runs from `prepare` (npm ci) and `prestart`; `--force` always builds.
// Stale = the hash of the UI's sources, the domain types it imports and the
// lockfile differs from the one stamped into web/dist by the last build.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const web = path.join(root, 'web');
const stampFile = path.join(web, 'dist', '.build-stamp');
const force = process.argv.includes('--force');

if (!existsSync(path.join(web, 'index.html'))) {
  // A Docker layer that installs packages before it copies the sources.
  console.log('web UI: no sources in web/, nothing to build');
  process.exit(0);
}

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules' || entry.name === '.build-lock')
      continue;
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* files(p);
    else if (!entry.name.endsWith('.test.ts')) yield p;
  }
}

// One build at a time (two browser test files start together): a lock directory,
// then the stamp is read again, so the second waits and finds the first's build.
const buildLock = path.join(web, '.build-lock');
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
for (;;) {
  try {
    mkdirSync(buildLock);
    break;
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
    // A build killed half-way leaves its lock: ten minutes is longer than any build.
    if (Date.now() - statSync(buildLock).mtimeMs > 600_000)
      rmSync(buildLock, { recursive: true, force: true });
    else sleep(500);
  }
}
process.on('exit', () => rmSync(buildLock, { recursive: true, force: true }));

const hash = createHash('sha256');
const inputs = [...files(web), ...files(path.join(root, 'src', 'domain'))];
const lock = path.join(root, 'package-lock.json');
if (existsSync(lock)) inputs.push(lock);
for (const file of inputs.sort()) {
  hash.update(path.relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
}
const stamp = hash.digest('hex');

if (!force && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === stamp) {
  console.log('web UI: web/dist is up to date');
  process.exit(0);
}

let viteBin;
try {
  const require = createRequire(path.join(root, 'package.json'));
  viteBin = path.join(path.dirname(require.resolve('vite/package.json')), 'bin', 'vite.js');
} catch {
  // `npm ci --omit=dev`: the image's build stage made web/dist already.
  const built = existsSync(path.join(web, 'dist', 'index.html'));
  console.log(
    built
      ? 'web UI: vite not installed (production install); serving the web/dist already built'
      : 'web UI: vite not installed and web/dist missing: run `npm ci` (with dev dependencies) to build it',
  );
  process.exit(0);
}

const started = Date.now();
console.log(`web UI: building web/dist (${force ? 'forced' : 'missing or stale'})…`);
const result = spawnSync(
  process.execPath,
  [viteBin, 'build', '--config', path.join(web, 'vite.config.ts'), '--logLevel', 'warn'],
  { cwd: root, stdio: 'inherit' },
);
if (result.status !== 0) {
  console.error('web UI: build failed');
  process.exit(result.status ?? 1);
}
writeFileSync(stampFile, stamp + '\n');
const size = statSync(path.join(web, 'dist', 'index.html')).size;
console.log(
  `web UI: built in ${((Date.now() - started) / 1000).toFixed(1)} s (index.html ${size} B)`,
);
