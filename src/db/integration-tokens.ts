import type { Queryable } from './pool.js';

export type IntegrationTokenRole = 'viewer' | 'operator';

export interface IntegrationToken {
  readonly id: number;
  readonly name: string;
  readonly role: IntegrationTokenRole;
  readonly createdBy: string | null;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
  readonly revokedBy: string | null;
}

const columns = `id::int, name, role, created_by AS "createdBy", created_at AS "createdAt",
  last_used_at AS "lastUsedAt", revoked_at AS "revokedAt", revoked_by AS "revokedBy"`;

/** Null when a live token already has this name. */
export async function insertIntegrationToken(
  db: Queryable,
  t: { name: string; role: IntegrationTokenRole; tokenHash: string; createdBy: string | null },
): Promise<IntegrationToken | null> {
  const { rows } = await db.query<IntegrationToken>(
    `INSERT INTO integration_tokens (name, role, token_hash, created_by) VALUES ($1, $2, $3, $4)
     ON CONFLICT (name) WHERE revoked_at IS NULL DO NOTHING
     RETURNING ${columns}`,
    [t.name, t.role, t.tokenHash, t.createdBy],
  );
  return rows[0] ?? null;
}

export async function listIntegrationTokens(
  db: Queryable,
  includeRevoked: boolean,
): Promise<IntegrationToken[]> {
  const { rows } = await db.query<IntegrationToken>(
    `SELECT ${columns} FROM integration_tokens
     WHERE $1 OR revoked_at IS NULL ORDER BY id`,
    [includeRevoked],
  );
  return rows;
}

/** The revoked token, with its hash to close its live connections; null when unknown or revoked already. */
export async function revokeIntegrationToken(
  db: Queryable,
  id: number,
  by: string | null,
): Promise<(IntegrationToken & { tokenHash: string }) | null> {
  const { rows } = await db.query<IntegrationToken & { tokenHash: string }>(
    `UPDATE integration_tokens SET revoked_at = now(), revoked_by = $2
     WHERE id = $1 AND revoked_at IS NULL
     RETURNING ${columns}, token_hash AS "tokenHash"`,
    [id, by],
  );
  return rows[0] ?? null;
}

/** The live token of a hash, and whether its last use is over a minute old. */
export async function integrationTokenForHash(
  db: Queryable,
  tokenHash: string,
): Promise<(IntegrationToken & { stale: boolean }) | null> {
  const { rows } = await db.query<IntegrationToken & { stale: boolean }>(
    `SELECT ${columns},
       (last_used_at IS NULL OR last_used_at < now() - interval '1 minute') AS stale
     FROM integration_tokens WHERE token_hash = $1 AND revoked_at IS NULL`,
    [tokenHash],
  );
  return rows[0] ?? null;
}

/** At most one write a minute per token, however busy it is. */
export async function touchIntegrationToken(db: Queryable, id: number): Promise<void> {
  await db.query(
    `UPDATE integration_tokens SET last_used_at = now()
     WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
    [id],
  );
}

/** Which of these hashes are live tokens (the live layer's sweep). */
export async function liveIntegrationTokens(
  db: Queryable,
  tokenHashes: string[],
): Promise<Set<string>> {
  if (tokenHashes.length === 0) return new Set();
  const { rows } = await db.query<{ h: string }>(
    `SELECT token_hash AS h FROM integration_tokens
     WHERE token_hash = ANY($1) AND revoked_at IS NULL`,
    [tokenHashes],
  );
  return new Set(rows.map((r) => r.h));
}
