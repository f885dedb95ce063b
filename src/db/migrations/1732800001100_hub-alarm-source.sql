-- Up Migration

-- An alarm about the hub itself (issue 11: storage degraded, rule
-- all.storage_degraded): its source is a hub node's storage, not a device or an
-- area; grid_code is '' (no area scope sees it, as no district owns it).
ALTER TABLE alarms DROP CONSTRAINT alarms_source_kind_check;
ALTER TABLE alarms ADD CONSTRAINT alarms_source_kind_check
  CHECK (source_kind IN ('device', 'grid', 'street', 'district', 'road', 'hub'));

-- Down Migration
DELETE FROM alarms WHERE source_kind = 'hub';
ALTER TABLE alarms DROP CONSTRAINT alarms_source_kind_check;
ALTER TABLE alarms ADD CONSTRAINT alarms_source_kind_check
  CHECK (source_kind IN ('device', 'grid', 'street', 'district', 'road'));
