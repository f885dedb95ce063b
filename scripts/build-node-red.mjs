// Compiles the Node-RED nodes (node-red/src → node-red/nodes/*.js, next to their
// .html) on `npm ci` / `npm install` (the root `prepare` script), so Node-RED
// finds them in the workspace package without a build step of its own.
// A production install (`npm ci --omit=dev`) has no TypeScript, and the hub's
// image has no node sources: both skip, since the hub does not need the nodes.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import console from 'node:console';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

if (!existsSync(fileURLToPath(new URL('../node-red/src', import.meta.url)))) {
  // The hub's image copies only the workspace manifest: nothing to build there.
  console.log('node-red nodes not built: no sources here');
  process.exit(0);
}
const require = createRequire(import.meta.url);
let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  console.log('node-red nodes not built: TypeScript is not installed (production install)');
  process.exit(0);
}
const project = fileURLToPath(new URL('../node-red/tsconfig.json', import.meta.url));
execFileSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' });
