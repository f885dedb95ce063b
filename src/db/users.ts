import { HubError, type Role } from '../domain/index.js';
import type { Queryable } from './pool.js';
import { violationAs } from './sql-errors.js';
import { storableJson, storableText } from './storable.js';

export interface UserRecord {
  readonly id: number;
  readonly username: string;
  readonly displayName: string;
  readonly role: Role;
  readonly departmentId: string | null;
  readonly crewId: string | null;
  readonly areaCode: string | null;
  readonly enabled: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly passwordChangedAt: string | null;
  readonly disabledAt: string | null;
}

const userColumns = `u.id, u.username, u.display_name AS "displayName", u.role,
  u.department_id AS "departmentId", u.crew_id AS "crewId", u.area_code AS "areaCode",
  u.enabled, u.created_at AS "createdAt", u.updated_at AS "updatedAt",
  u.password_changed_at AS "passwordChangedAt", u.disabled_at AS "disabledAt"`;

export async function countUsers(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users`);
  return rows[0]!.n;
}

/** Foreign-key and check violations of the users table, worded for the admin. */
const userWriteError = violationAs({
  foreignKey: new HubError('HUB_ERR_BAD_REQUEST', 'unknown crew or department'),
  check: new HubError('HUB_ERR_BAD_REQUEST', 'a crew user needs crewId'),
});

/** null when the username is taken; HUB_ERR_BAD_REQUEST for an unknown crew or department. */
export async function insertUser(
  db: Queryable,
  u: {
    username: string;
    displayName: string;
    role: string;
    passwordHash: string;
    departmentId?: string | null;
    crewId?: string | null;
    areaCode?: string | null;
  },
): Promise<UserRecord | null> {
  const { rows } = await db
    .query<UserRecord>(
      `INSERT INTO users AS u (username, display_name, role, password_hash, department_id, crew_id, area_code)
     VALUES ($1, $2, $3, $4,
             coalesce($5, (SELECT department_id FROM crews WHERE id = $6)), $6, $7)
     ON CONFLICT (username) DO NOTHING
     RETURNING ${userColumns}`,
      [
        u.username,
        u.displayName,
        u.role,
        u.passwordHash,
        u.departmentId ?? null,
        u.crewId ?? null,
        u.areaCode ?? null,
      ],
    )
    .catch(userWriteError);
  return rows[0] ?? null;
}

export async function listUsers(db: Queryable): Promise<UserRecord[]> {
  const { rows } = await db.query<UserRecord>(`SELECT ${userColumns} FROM users u ORDER BY u.id`);
  return rows;
}

export async function userForLogin(
  db: Queryable,
  username: string,
): Promise<(UserRecord & { passwordHash: string }) | null> {
  const { rows } = await db.query<UserRecord & { passwordHash: string }>(
    `SELECT ${userColumns}, u.password_hash AS "passwordHash" FROM users u WHERE u.username = $1`,
    [username],
  );
  return rows[0] ?? null;
}

export async function insertSession(
  db: Queryable,
  s: { tokenHash: string; userId: number; expiresAt: string; ip: string | null },
): Promise<void> {
  await db.query(
    `INSERT INTO sessions (token_hash, user_id, expires_at, ip) VALUES ($1, $2, $3, $4)`,
    [s.tokenHash, s.userId, s.expiresAt, s.ip],
  );
}

/** The enabled user of an unexpired session, or null. */
export async function userForSession(db: Queryable, tokenHash: string): Promise<UserRecord | null> {
  const { rows } = await db.query<UserRecord>(
    `SELECT ${userColumns} FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.token_hash = $1 AND s.expires_at > now() AND u.enabled`,
    [tokenHash],
  );
  return rows[0] ?? null;
}

export async function deleteSession(db: Queryable, tokenHash: string): Promise<void> {
  await db.query(`DELETE FROM sessions WHERE token_hash = $1`, [tokenHash]);
}

export async function getUser(db: Queryable, id: number): Promise<UserRecord | null> {
  const { rows } = await db.query<UserRecord>(
    `SELECT ${userColumns} FROM users u WHERE u.id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

/** Fields an admin may change; a key present with null clears the column. */
export interface UserPatch {
  readonly displayName?: string;
  readonly role?: UserRecord['role'];
  readonly departmentId?: string | null;
  readonly crewId?: string | null;
  readonly areaCode?: string | null;
}

/**
 * The guard that keeps one enabled admin, race-safe: the enabled admins'
 * rows are locked, so of two admins disabling each other at once the second
 * waits, re-reads the first's row and finds no other admin left. `$1` is the
 * user changed; `keeps` is true when the change leaves the user an enabled admin.
 */
const keepsAnAdmin = (keeps: string) => `(${keeps} OR u.role <> 'admin' OR NOT u.enabled
  OR EXISTS (SELECT 1 FROM (SELECT id FROM users WHERE role = 'admin' AND enabled FOR UPDATE) a
             WHERE a.id <> $1))`;

/**
 * Applies the keys present in the patch; null when the user is unknown or the
 * change would demote the last enabled admin. HUB_ERR_BAD_REQUEST for an
 * unknown crew or department, or a crew user without a crew.
 */
export async function updateUser(
  db: Queryable,
  id: number,
  patch: UserPatch,
): Promise<UserRecord | null> {
  const { rows } = await db
    .query<UserRecord>(
      `UPDATE users u SET
       display_name  = CASE WHEN $2::jsonb ? 'displayName' THEN $2->>'displayName' ELSE display_name END,
       role          = CASE WHEN $2::jsonb ? 'role' THEN $2->>'role' ELSE role END,
       department_id = CASE WHEN $2::jsonb ? 'departmentId' THEN $2->>'departmentId' ELSE department_id END,
       crew_id       = CASE WHEN $2::jsonb ? 'crewId' THEN $2->>'crewId' ELSE crew_id END,
       area_code     = CASE WHEN $2::jsonb ? 'areaCode' THEN $2->>'areaCode' ELSE area_code END,
       updated_at    = now()
     WHERE u.id = $1 AND ${keepsAnAdmin(`coalesce($2::jsonb->>'role', 'admin') = 'admin'`)}
     RETURNING ${userColumns}`,
      [id, JSON.stringify(patch)],
    )
    .catch(userWriteError);
  return rows[0] ?? null;
}

/** null when the user is unknown or is the last enabled admin being disabled. */
export async function setUserEnabled(
  db: Queryable,
  id: number,
  enabled: boolean,
): Promise<UserRecord | null> {
  const { rows } = await db.query<UserRecord>(
    `UPDATE users u SET enabled = $2, updated_at = now(),
       disabled_at = CASE WHEN $2 THEN NULL ELSE coalesce(disabled_at, now()) END
     WHERE u.id = $1 AND ${keepsAnAdmin('$2')} RETURNING ${userColumns}`,
    [id, enabled],
  );
  return rows[0] ?? null;
}

export async function setUserPassword(
  db: Queryable,
  id: number,
  passwordHash: string,
): Promise<UserRecord | null> {
  const { rows } = await db.query<UserRecord>(
    `UPDATE users u SET password_hash = $2, password_changed_at = now(), updated_at = now()
     WHERE u.id = $1 RETURNING ${userColumns}`,
    [id, passwordHash],
  );
  return rows[0] ?? null;
}

export async function passwordHashOf(db: Queryable, id: number): Promise<string | null> {
  const { rows } = await db.query<{ h: string }>(
    `SELECT password_hash AS h FROM users WHERE id = $1`,
    [id],
  );
  return rows[0]?.h ?? null;
}

/** Enabled admins other than this user: the city must keep one. */
export async function otherEnabledAdmins(db: Queryable, id: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND enabled AND id <> $1`,
    [id],
  );
  return rows[0]!.n;
}

/** Ends a user's sessions (all, or all but one); returns the ended token hashes. */
export async function deleteUserSessions(
  db: Queryable,
  userId: number,
  exceptTokenHash: string | null = null,
): Promise<string[]> {
  const { rows } = await db.query<{ h: string }>(
    `DELETE FROM sessions WHERE user_id = $1 AND ($2::text IS NULL OR token_hash <> $2)
     RETURNING token_hash AS h`,
    [userId, exceptTokenHash],
  );
  return rows.map((r) => r.h);
}

/** Deletes expired sessions; returns their token hashes. */
export async function sweepExpiredSessions(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ h: string }>(
    `DELETE FROM sessions WHERE expires_at <= now() RETURNING token_hash AS h`,
  );
  return rows.map((r) => r.h);
}

/**
 * Of these token hashes, those still in the table and of an enabled user.
 * Expiry is left to the sweep's delete, so an expired session is reported once, as expired.
 */
export async function validSessions(db: Queryable, tokenHashes: string[]): Promise<Set<string>> {
  if (tokenHashes.length === 0) return new Set();
  const { rows } = await db.query<{ h: string }>(
    `SELECT s.token_hash AS h FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.token_hash = ANY($1) AND u.enabled`,
    [tokenHashes],
  );
  return new Set(rows.map((r) => r.h));
}

export interface AuditEntry {
  readonly userId: number | null;
  readonly username: string | null;
  readonly role: string | null;
  readonly action: string;
  readonly target: string | null;
  readonly outcome: 'ok' | 'refused' | 'failed';
  readonly status: number | null;
  readonly ip: string | null;
  readonly detail?: Record<string, unknown> | null;
}

/**
 * Writes an audit row. Never refused for its content: text PostgreSQL cannot
 * store (a NUL in a display name, a lone surrogate) becomes U+FFFD, so no
 * action goes unaudited because of what it was sent (issue #11).
 */
export async function insertAudit(db: Queryable, e: AuditEntry): Promise<void> {
  // Robust to what reaches it at run time: a coerced integer id arrives as a number.
  const text = (s: unknown) => (s === null || s === undefined ? null : storableText(String(s)));
  await db.query(
    `INSERT INTO audit_log (user_id, username, role, action, target, outcome, status, ip, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      e.userId,
      text(e.username),
      text(e.role),
      text(e.action),
      text(e.target),
      e.outcome,
      e.status,
      text(e.ip),
      e.detail ? JSON.stringify(storableJson(e.detail)) : null,
    ],
  );
}

export interface AuditQuery {
  readonly username?: string;
  /** Substring of the action, e.g. `POST /api/users` or `dispatch-routes`. */
  readonly action?: string;
  readonly outcome?: string;
  readonly target?: string;
  readonly from?: string;
  readonly to?: string;
  readonly limit: number;
  readonly offset?: number;
}

/** Newest first; `from` inclusive, `to` exclusive. */
export async function listAudit(
  db: Queryable,
  q: AuditQuery,
): Promise<(AuditEntry & { id: number; at: string })[]> {
  const { rows } = await db.query<AuditEntry & { id: number; at: string }>(
    `SELECT id, at, user_id AS "userId", username, role, action, target, outcome, status, ip, detail
     FROM audit_log
     WHERE ($1::text IS NULL OR username = $1) AND ($2::text IS NULL OR outcome = $2)
       AND ($3::text IS NULL OR strpos(action, $3) > 0) AND ($4::text IS NULL OR target = $4)
       AND ($5::timestamptz IS NULL OR at >= $5) AND ($6::timestamptz IS NULL OR at < $6)
     ORDER BY id DESC LIMIT $7 OFFSET $8`,
    [
      q.username ?? null,
      q.outcome ?? null,
      q.action ?? null,
      q.target ?? null,
      q.from ?? null,
      q.to ?? null,
      q.limit,
      q.offset ?? 0,
    ],
  );
  return rows;
}
