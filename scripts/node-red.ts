// `npm run node-red`: a Node-RED 4.1 runtime with the hub's nodes in its palette
// (node-red/README.md). Editor on 127.0.0.1 behind a login; userDir under DATA_DIR.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import RED from 'node-red';

/** The package folder, loaded as Node-RED loads any installed node module. */
export const packageDir = fileURLToPath(new URL('../node-red/', import.meta.url));
export const packageName = 'node-red-contrib-urban-facility-hub';

export interface NodeRedOptions {
  /** Node-RED's user directory (flows, credentials, settings). */
  readonly userDir: string;
  /** Where the editor's admin password is kept (mode 0600). */
  readonly passwordFile: string;
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Node-RED's log level: `fatal` … `trace`, `off`. */
  readonly logLevel?: string;
}

export interface RunningNodeRed {
  readonly url: string;
  readonly port: number;
  readonly passwordFile: string;
  readonly created: boolean;
  stop(): Promise<void>;
}

/** A secret read from its file, or generated once and written with mode 0600. */
async function secretFile(file: string): Promise<{ password: string; created: boolean }> {
  try {
    return { password: (await readFile(file, 'utf8')).trim(), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const password = randomBytes(18).toString('base64url');
  await writeFile(file, password + '\n', { mode: 0o600 });
  return { password, created: true };
}

/**
 * Starts Node-RED in this process through its embedding API (RED.init /
 * RED.start) on an http server of ours. The package is linked into
 * `userDir/node_modules`, so Node-RED finds it by its package.json `node-red`
 * section, as after `npm install` in a Node-RED install. One runtime per
 * process: Node-RED's runtime is a singleton.
 */
export async function startNodeRed(options: NodeRedOptions): Promise<RunningNodeRed> {
  const modules = path.join(options.userDir, 'node_modules');
  await mkdir(modules, { recursive: true });
  const link = path.join(modules, packageName);
  await rm(link, { force: true, recursive: true });
  await symlink(packageDir, link, 'dir');

  const { password, created } = await secretFile(options.passwordFile);
  // Flow credentials (the hub token, the MQTT password) are encrypted with it.
  const { password: credentialSecret } = await secretFile(
    path.join(options.userDir, '.credential-secret'),
  );
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => RED.httpAdmin(req, res));
  RED.init(server, {
    userDir: options.userDir,
    flowFile: 'flows.json',
    credentialSecret,
    uiHost: host,
    httpAdminRoot: '/',
    // No HTTP-in endpoints: this runtime is for the hub's nodes and their examples.
    httpNodeRoot: false,
    adminAuth: {
      type: 'credentials',
      users: [{ username: 'admin', password: bcrypt.hashSync(password, 10), permissions: '*' }],
    },
    // Nothing installs from a registry at run time: the palette is what the package ships.
    // Function nodes may use Node's own modules (the examples sign DingTalk messages with
    // crypto) but nothing is installed from a registry at run time.
    externalModules: {
      autoInstall: false,
      palette: { allowInstall: false },
      modules: { allowInstall: false },
    },
    functionExternalModules: true,
    editorTheme: { projects: { enabled: false }, tours: false },
    logging: { console: { level: options.logLevel ?? 'info', metrics: false, audit: false } },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 1880, host, () => resolve());
  });
  await RED.start();
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    passwordFile: options.passwordFile,
    created,
    async stop() {
      await RED.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function main(): Promise<void> {
  const dataDir = path.resolve(process.env.DATA_DIR || './data');
  const userDir = path.join(dataDir, 'node-red');
  await mkdir(userDir, { recursive: true });
  const port = Number(process.env.NODE_RED_PORT ?? '1880');
  let running: RunningNodeRed;
  try {
    running = await startNodeRed({
      userDir,
      passwordFile: path.join(dataDir, 'node-red-admin-password'),
      host: process.env.NODE_RED_HOST || '127.0.0.1',
      port,
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error(
        `Port ${port} is taken: set NODE_RED_PORT (e.g. NODE_RED_PORT=1881 npm run node-red)`,
      );
      process.exit(1);
    }
    throw err;
  }
  console.log(
    [
      '',
      `  Node-RED      ${running.url}/  (the hub's nodes: palette "urban facility hub")`,
      `  Login         admin / password in ${running.passwordFile}${running.created ? ' (created now)' : ''}`,
      `  Examples      Import > Examples > ${packageName}`,
      `  userDir       ${userDir}`,
      '',
    ].join('\n'),
  );
  const stop = () => void running.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
