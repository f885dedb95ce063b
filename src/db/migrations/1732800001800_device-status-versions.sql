-- Up Migration

-- Device online/offline changes pushed to screens (issue #13, decision 0162):
-- a change of `online` takes the next device_status_version_seq value under a
-- transaction advisory lock (versions commit in order), so each API node tails
-- device_status by version and a reconnecting screen resyncs from its version.
CREATE SEQUENCE device_status_version_seq;
ALTER TABLE device_status
  ADD COLUMN version           bigint NOT NULL DEFAULT 0,
  ADD COLUMN status_changed_at timestamptz;
UPDATE device_status SET status_changed_at = last_seen;
CREATE INDEX device_status_version_idx ON device_status (version);

-- Down Migration
DROP INDEX IF EXISTS device_status_version_idx;
ALTER TABLE device_status DROP COLUMN version, DROP COLUMN status_changed_at;
DROP SEQUENCE device_status_version_seq;
