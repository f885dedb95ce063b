import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/db/index.js';
import { freePort } from './ports.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of the embedded PostgreSQL started for this run. */
    embeddedAdminUrl: string;
    /** Admin URL of the machine's PostgreSQL server when TEST_DATABASE_URL is set, else ''. */
    serverAdminUrl: string;
  }
}

/**
 * One embedded PostgreSQL for the whole run (tests must pass on a laptop with
 * no database server); each test file creates its own databases on it. CI also
 * sets TEST_DATABASE_URL to the machine's server, which then carries the
 * end-to-end tests as well.
 */
export default async function setup(project: TestProject) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hub-test-pg-'));
  const embedded = await startEmbeddedPostgres({
    dataDir,
    port: await freePort(),
    logger: pino({ level: 'silent' }),
  });
  const server = process.env.TEST_DATABASE_URL ?? '';
  console.log(
    `[test databases] embedded PostgreSQL: yes; machine server: ${server ? 'yes (TEST_DATABASE_URL)' : 'no (TEST_DATABASE_URL unset)'}`,
  );
  project.provide('embeddedAdminUrl', embedded.url);
  project.provide('serverAdminUrl', server);
  return async () => {
    await embedded.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
