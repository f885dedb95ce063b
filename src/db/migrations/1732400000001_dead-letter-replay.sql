-- Up Migration
-- An operator replays dead letters after fixing a device's configuration; a
-- replayed letter keeps its record (the audit of what was wrong) with the time.
ALTER TABLE dead_letters ADD COLUMN replayed_at timestamptz;
CREATE INDEX dead_letters_code_idx ON dead_letters (code, received_at DESC);

-- Down Migration
DROP INDEX dead_letters_code_idx;
ALTER TABLE dead_letters DROP COLUMN replayed_at;
