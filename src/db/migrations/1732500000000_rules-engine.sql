-- Up Migration

-- Rules engine (#4). An alarm's source is a device or an area (a grid, street,
-- district or road): a street going dark is one alarm for the street
-- (domain.md "All types"), so device_id becomes optional and the one-open rule
-- moves from (device, rule) to (source, rule).
ALTER TABLE alarms
  ADD COLUMN source text,
  ADD COLUMN source_kind text NOT NULL DEFAULT 'device'
    CHECK (source_kind IN ('device', 'grid', 'street', 'district', 'road')),
  ADD COLUMN flapping boolean NOT NULL DEFAULT false,
  ADD COLUMN acknowledged_at timestamptz,
  ADD COLUMN acknowledged_by text,
  -- Why it fired, beyond the columns: kind, detail, window (docs/rules.md).
  ADD COLUMN explain jsonb,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
UPDATE alarms SET source = device_id;
ALTER TABLE alarms ALTER COLUMN source SET NOT NULL;
ALTER TABLE alarms ALTER COLUMN device_id DROP NOT NULL;
DROP INDEX alarms_one_open_idx;
CREATE UNIQUE INDEX alarms_one_open_source_idx ON alarms (source, rule_id) WHERE state = 'open';

-- The multi-level rules waterlogging.depth and gas.ch4 replace these two
-- single-level rules of the skeleton pack: one alarm changing severity, not two.
UPDATE rules SET enabled = false, updated_at = now()
WHERE id IN ('waterlogging.road_closed', 'gas.level1');

-- Every version a rule has had, so an alarm's (rule_id, rule_version) stays explainable.
CREATE TABLE rule_versions (
  rule_id    text NOT NULL REFERENCES rules (id) ON DELETE CASCADE,
  version    integer NOT NULL,
  definition jsonb NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (rule_id, version)
);

-- Per district, grid or device settings merged over the rule's (most specific wins).
CREATE TABLE rule_overrides (
  rule_id    text NOT NULL REFERENCES rules (id) ON DELETE CASCADE,
  scope      text NOT NULL CHECK (scope IN ('district', 'grid', 'device')),
  scope_id   text NOT NULL,
  settings   jsonb NOT NULL DEFAULT '{}',
  enabled    boolean,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (rule_id, scope, scope_id)
);

-- Checkpointed evaluator state (windows, durations, last-seen), restored at start.
CREATE TABLE rule_state (
  key      text PRIMARY KEY,
  state    jsonb NOT NULL,
  saved_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE rule_state;
DROP TABLE rule_overrides;
DROP TABLE rule_versions;
DROP INDEX alarms_one_open_source_idx;
DELETE FROM cases WHERE alarm_id IN (SELECT id FROM alarms WHERE device_id IS NULL);
DELETE FROM alarms WHERE device_id IS NULL;
ALTER TABLE alarms ALTER COLUMN device_id SET NOT NULL;
CREATE UNIQUE INDEX alarms_one_open_idx ON alarms (device_id, rule_id) WHERE state = 'open';
ALTER TABLE alarms
  DROP COLUMN source, DROP COLUMN source_kind, DROP COLUMN flapping, DROP COLUMN acknowledged_at,
  DROP COLUMN acknowledged_by, DROP COLUMN explain, DROP COLUMN updated_at;
