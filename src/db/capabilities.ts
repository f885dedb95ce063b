import type { Queryable } from './pool.js';

/**
 * What the connected server can do. The hub runs on three kinds of server
 * (architecture.md, `db/`): TimescaleDB with compression, TimescaleDB under the
 * Apache licence (no compression, no continuous aggregates) and plain PostgreSQL.
 */
export interface DatabaseCapabilities {
  readonly serverVersion: string;
  readonly timescaledb: string | null;
  /** The Community licence has compression and continuous aggregates; Apache has not. */
  readonly timescaleLicense: 'timescale' | 'apache' | null;
  readonly telemetryHypertable: boolean;
  readonly kind: 'timescaledb' | 'timescaledb-apache' | 'postgresql';
}

export async function detectCapabilities(db: Queryable): Promise<DatabaseCapabilities> {
  const { rows } = await db.query<{
    server_version: string;
    timescaledb: string | null;
    license: string | null;
    hypertable: boolean;
  }>(`
    SELECT current_setting('server_version') AS server_version,
           (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS timescaledb,
           current_setting('timescaledb.license', true) AS license,
           EXISTS (
             SELECT 1 FROM pg_extension e WHERE e.extname = 'timescaledb'
           ) AND to_regclass('timescaledb_information.hypertables') IS NOT NULL AS hypertable
  `);
  const row = rows[0]!;
  let telemetryHypertable = false;
  if (row.hypertable) {
    const r = await db.query(
      `SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = 'telemetry'`,
    );
    telemetryHypertable = (r.rowCount ?? 0) > 0;
  }
  const timescaleLicense = row.timescaledb
    ? row.license === 'apache'
      ? 'apache'
      : 'timescale'
    : null;
  return {
    serverVersion: row.server_version,
    timescaledb: row.timescaledb,
    timescaleLicense,
    telemetryHypertable,
    kind: !row.timescaledb
      ? 'postgresql'
      : timescaleLicense === 'apache'
        ? 'timescaledb-apache'
        : 'timescaledb',
  };
}
