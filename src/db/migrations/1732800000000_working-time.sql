-- Up Migration

-- Working-time deadlines (domain.md, "Deadlines": "1 working hour", "3 working days");
-- decision 0108, docs/cases.md "Working time".

-- Days that differ from Monday–Friday: public holidays off, make-up working days (调休) on.
CREATE TABLE work_calendar (
  day        date PRIMARY KEY,
  kind       text NOT NULL CHECK (kind IN ('holiday', 'workday')),
  name       text NOT NULL DEFAULT '',
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Each deadline row says whether its minutes are calendar or working minutes, and
-- carries the dispatch deadline (verify and dispatch within 1 working hour).
ALTER TABLE case_deadlines
  ADD COLUMN unit             text NOT NULL DEFAULT 'calendar' CHECK (unit IN ('calendar', 'working')),
  ADD COLUMN dispatch_minutes integer NOT NULL DEFAULT 60,
  ADD COLUMN dispatch_unit    text NOT NULL DEFAULT 'working' CHECK (dispatch_unit IN ('calendar', 'working'));

-- Rows still as the cases migration seeded them take the working-day defaults of
-- domain.md; rows a city edited are left alone. A working day is 450 working
-- minutes with the default hours (08:30–12:00, 13:30–17:30).
UPDATE case_deadlines SET unit = 'working', handle_minutes = 450
  WHERE severity = 'major' AND facility_type IS NULL AND handle_minutes = 1440;
UPDATE case_deadlines SET unit = 'working', handle_minutes = 1350
  WHERE severity = 'major' AND facility_type = 'streetlight' AND handle_minutes = 4320;
UPDATE case_deadlines SET unit = 'working', handle_minutes = 1350
  WHERE severity = 'minor' AND facility_type IS NULL AND handle_minutes = 4320;
UPDATE case_deadlines SET unit = 'working', handle_minutes = 2250
  WHERE severity = 'warning' AND facility_type IS NULL AND handle_minutes = 7200;
-- A deadline counted round the clock is dispatched round the clock too.
UPDATE case_deadlines SET dispatch_unit = unit;

ALTER TABLE cases
  -- The handling deadline as it was set: escalation repeats it per period.
  ADD COLUMN deadline_unit      text NOT NULL DEFAULT 'calendar' CHECK (deadline_unit IN ('calendar', 'working')),
  ADD COLUMN handle_minutes     integer,
  ADD COLUMN next_escalation_at timestamptz,
  ADD COLUMN dispatch_due_at    timestamptz,
  ADD COLUMN dispatch_overdue   boolean NOT NULL DEFAULT false;

UPDATE cases SET
  handle_minutes = round(extract(epoch FROM due_at - created_at) / 60),
  next_escalation_at = CASE WHEN escalated_at IS NULL THEN due_at
                            ELSE escalated_at + (due_at - created_at) END
  WHERE due_at IS NOT NULL AND state NOT IN ('closed', 'cancelled');
CREATE INDEX cases_next_escalation_idx ON cases (next_escalation_at)
  WHERE next_escalation_at IS NOT NULL;
CREATE INDEX cases_dispatch_due_idx ON cases (dispatch_due_at)
  WHERE state IN ('registered', 'returned') AND NOT dispatch_overdue;

-- Down Migration
DROP INDEX cases_dispatch_due_idx;
DROP INDEX cases_next_escalation_idx;
ALTER TABLE cases
  DROP COLUMN deadline_unit, DROP COLUMN handle_minutes, DROP COLUMN next_escalation_at,
  DROP COLUMN dispatch_due_at, DROP COLUMN dispatch_overdue;
ALTER TABLE case_deadlines DROP COLUMN unit, DROP COLUMN dispatch_minutes, DROP COLUMN dispatch_unit;
DROP TABLE work_calendar;
