import type { Queryable } from './pool.js';

export interface UserRecord {
  readonly id: number;
  readonly username: string;
  readonly displayName: string;
  readonly role: 'admin' | 'operator' | 'supervisor' | 'crew' | 'viewer';
  readonly departmentId: string | null;
  readonly crewId: string | null;
  readonly areaCode: string | null;
  readonly enabled: boolean;
  readonly createdAt: string;
}

const userColumns = `u.id, u.username, u.display_name AS "displayName", u.role,
  u.department_id AS "departmentId", u.crew_id AS "crewId", u.area_code AS "areaCode",
  u.enabled, u.created_at AS "createdAt"`;

export async function countUsers(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users`);
  return rows[0]!.n;
}

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
  const { rows } = await db.query<UserRecord>(
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
  );
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

export async function insertAudit(db: Queryable, e: AuditEntry): Promise<void> {
  await db.query(
    `INSERT INTO audit_log (user_id, username, role, action, target, outcome, status, ip, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      e.userId,
      e.username,
      e.role,
      e.action,
      e.target,
      e.outcome,
      e.status,
      e.ip,
      e.detail ? JSON.stringify(e.detail) : null,
    ],
  );
}

export async function listAudit(
  db: Queryable,
  q: { username?: string; outcome?: string; limit: number },
): Promise<(AuditEntry & { id: number; at: string })[]> {
  const { rows } = await db.query<AuditEntry & { id: number; at: string }>(
    `SELECT id, at, user_id AS "userId", username, role, action, target, outcome, status, ip, detail
     FROM audit_log
     WHERE ($1::text IS NULL OR username = $1) AND ($2::text IS NULL OR outcome = $2)
     ORDER BY id DESC LIMIT $3`,
    [q.username ?? null, q.outcome ?? null, q.limit],
  );
  return rows;
}
