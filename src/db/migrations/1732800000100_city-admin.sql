-- Up Migration

-- City administration through the API (issue #5 follow-up, decision 0109):
-- user lifecycle columns, the session sweep, and one "any type" row per key in
-- the routing and deadline tables (UNIQUE treats NULLs as distinct).

ALTER TABLE users
  ADD COLUMN updated_at          timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN password_changed_at timestamptz,
  ADD COLUMN disabled_at         timestamptz;

-- The periodic sweep deletes expired sessions by this column.
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE INDEX audit_log_username_idx ON audit_log (username, id DESC);

DELETE FROM dispatch_routes r USING dispatch_routes o
  WHERE r.facility_type IS NULL AND o.facility_type IS NULL
    AND r.area_prefix = o.area_prefix AND r.id > o.id;
CREATE UNIQUE INDEX dispatch_routes_any_type_key ON dispatch_routes (area_prefix)
  WHERE facility_type IS NULL;

DELETE FROM case_deadlines d USING case_deadlines o
  WHERE d.facility_type IS NULL AND o.facility_type IS NULL
    AND d.severity = o.severity AND d.id > o.id;
CREATE UNIQUE INDEX case_deadlines_any_type_key ON case_deadlines (severity)
  WHERE facility_type IS NULL;

-- Down Migration
DROP INDEX case_deadlines_any_type_key;
DROP INDEX dispatch_routes_any_type_key;
DROP INDEX audit_log_username_idx;
DROP INDEX sessions_expires_idx;
ALTER TABLE users DROP COLUMN updated_at, DROP COLUMN password_changed_at, DROP COLUMN disabled_at;
