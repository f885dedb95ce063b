import pg from 'pg';
import type { Queryable } from './pool.js';

/** The read-only role of Grafana's data source (migration 1732800001500, grafana/provisioning). */
export const grafanaRole = 'hub_grafana';

/**
 * Lets the Grafana role log in with this password (GRAFANA_DB_PASSWORD). An
 * empty one leaves the role as it is (the role is the server's: another hub
 * database on it may have set it). False when the role does not exist (the
 * migrating user could not create roles).
 */
export async function setGrafanaPassword(db: Queryable, password: string): Promise<boolean> {
  if (password === '') return false;
  const { rows } = await db.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [grafanaRole]);
  if (rows.length === 0) return false;
  // ALTER ROLE takes no parameters: the password goes in as an escaped literal.
  await db.query(`ALTER ROLE ${grafanaRole} LOGIN PASSWORD ${pg.escapeLiteral(password)}`);
  return true;
}
