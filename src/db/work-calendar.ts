import type { Queryable } from './pool.js';

/** A day that differs from Monday–Friday: a public holiday, or a make-up working day (调休). */
export interface CalendarDay {
  /** Local date, YYYY-MM-DD. */
  readonly date: string;
  readonly kind: 'holiday' | 'workday';
  readonly name: string;
}

export async function listCalendarDays(
  db: Queryable,
  q: { from?: string; to?: string } = {},
): Promise<CalendarDay[]> {
  const { rows } = await db.query<CalendarDay>(
    `SELECT to_char(day, 'YYYY-MM-DD') AS date, kind, name FROM work_calendar
     WHERE ($1::date IS NULL OR day >= $1) AND ($2::date IS NULL OR day <= $2)
     ORDER BY day`,
    [q.from ?? null, q.to ?? null],
  );
  return rows;
}

/** Adds or replaces days, in one statement. */
export async function putCalendarDays(db: Queryable, days: readonly CalendarDay[]): Promise<void> {
  if (days.length === 0) return;
  await db.query(
    `INSERT INTO work_calendar (day, kind, name)
     SELECT d.date::date, d.kind, d.name FROM jsonb_to_recordset($1::jsonb) AS d(date text, kind text, name text)
     ON CONFLICT (day) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, updated_at = now()`,
    [JSON.stringify(days)],
  );
}

export async function deleteCalendarDay(db: Queryable, date: string): Promise<boolean> {
  const r = await db.query(`DELETE FROM work_calendar WHERE day = $1::date`, [date]);
  return (r.rowCount ?? 0) > 0;
}
