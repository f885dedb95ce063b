import type { CommandState } from '../domain/index.js';
import type { Queryable } from './pool.js';

export interface CommandRecord {
  readonly id: string;
  readonly deviceId: string;
  readonly name: string;
  readonly args: Record<string, unknown>;
  readonly state: CommandState;
  readonly error: string | null;
  readonly result: unknown;
  readonly createdAt: string;
  readonly updatedAt: string;
}

const columns = `id, device_id AS "deviceId", name, args, state, error, result,
  created_at AS "createdAt", updated_at AS "updatedAt"`;

export async function insertCommand(
  db: Queryable,
  command: { id: string; deviceId: string; name: string; args: Record<string, unknown> },
): Promise<CommandRecord> {
  const { rows } = await db.query<CommandRecord>(
    `INSERT INTO device_commands (id, device_id, name, args, state)
     VALUES ($1, $2, $3, $4, 'sent') RETURNING ${columns}`,
    [command.id, command.deviceId, command.name, JSON.stringify(command.args)],
  );
  return rows[0]!;
}

/**
 * Moves a command out of `sent`; a command already settled keeps its state
 * (a late ack after a timeout, or a second ack, changes nothing). Returns the
 * record when this call settled it.
 */
export async function settleCommand(
  db: Queryable,
  id: string,
  deviceId: string,
  outcome: { state: Exclude<CommandState, 'sent'>; error?: string | null; result?: unknown },
): Promise<CommandRecord | null> {
  const { rows } = await db.query<CommandRecord>(
    `UPDATE device_commands SET state = $3, error = $4, result = $5::jsonb, updated_at = now()
     WHERE id = $1 AND device_id = $2 AND state = 'sent' RETURNING ${columns}`,
    [
      id,
      deviceId,
      outcome.state,
      outcome.error ?? null,
      outcome.result === undefined ? null : JSON.stringify(outcome.result),
    ],
  );
  return rows[0] ?? null;
}

/** Commands still `sent` after the timeout become `timed_out`; any node may run this. */
export async function timeOutCommands(db: Queryable, olderThanMs: number): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE device_commands SET state = 'timed_out', updated_at = now()
     WHERE state = 'sent' AND created_at < now() - make_interval(secs => $1::float8 / 1000)`,
    [olderThanMs],
  );
  return rowCount ?? 0;
}

export async function listCommands(
  db: Queryable,
  deviceId: string,
  limit: number,
): Promise<CommandRecord[]> {
  const { rows } = await db.query<CommandRecord>(
    `SELECT ${columns} FROM device_commands WHERE device_id = $1
     ORDER BY created_at DESC, id LIMIT $2`,
    [deviceId, limit],
  );
  return rows;
}
