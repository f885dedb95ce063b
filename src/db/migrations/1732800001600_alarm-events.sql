-- Up Migration

-- Live alarms (issue #13, decision 0160): every change of an alarm an operator
-- sees (opened, severity, flapping, acknowledged, shelved, unshelved, cleared)
-- takes the next alarm_version_seq value under a transaction advisory lock, so
-- versions commit in order, and is stored here with the alarm after it: what a
-- node's alarm feed sends on and what a reconnecting client missed.
CREATE SEQUENCE alarm_version_seq;

ALTER TABLE alarms
  ADD COLUMN version        bigint NOT NULL DEFAULT 0,
  ADD COLUMN ack_comment    text,
  ADD COLUMN shelved_until  timestamptz,
  ADD COLUMN shelved_by     text,
  ADD COLUMN shelve_comment text;
CREATE INDEX alarms_shelved_idx ON alarms (shelved_until) WHERE shelved_until IS NOT NULL;

CREATE TABLE alarm_events (
  version   bigint PRIMARY KEY,
  alarm_id  bigint NOT NULL,
  change    text NOT NULL,
  at        timestamptz NOT NULL DEFAULT now(),
  by_name   text,
  comment   text,
  -- The alarm's grid or area code: a scope filters by prefix.
  area_code text NOT NULL,
  snapshot  jsonb NOT NULL
);
CREATE INDEX alarm_events_at_idx ON alarm_events (at);

-- Down Migration
DROP TABLE alarm_events;
DROP INDEX IF EXISTS alarms_shelved_idx;
ALTER TABLE alarms
  DROP COLUMN version,
  DROP COLUMN ack_comment,
  DROP COLUMN shelved_until,
  DROP COLUMN shelved_by,
  DROP COLUMN shelve_comment;
DROP SEQUENCE alarm_version_seq;
