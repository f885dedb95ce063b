-- Up Migration

-- Cases workflow (issue #5): users and sessions, audit log, departments and crews,
-- the dispatch routing table, deadlines, the case event log (replay by version),
-- per-rule case policy and outbound webhooks. docs/cases.md explains each.

CREATE TABLE departments (
  id   text PRIMARY KEY,
  name text NOT NULL
);

CREATE TABLE crews (
  id            text PRIMARY KEY,
  department_id text NOT NULL REFERENCES departments (id),
  name          text NOT NULL
);

CREATE TABLE users (
  id            bigserial PRIMARY KEY,
  username      text NOT NULL UNIQUE,
  display_name  text NOT NULL,
  role          text NOT NULL CHECK (role IN ('admin', 'operator', 'supervisor', 'crew', 'viewer')),
  -- scrypt$N$r$p$salt$hash (docs/decisions/0003-secrets.md); the password is never stored.
  password_hash text NOT NULL,
  department_id text REFERENCES departments (id),
  crew_id       text REFERENCES crews (id),
  -- Optional area scope (a district code): the user's socket.io room and case list.
  area_code     text,
  enabled       boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  CHECK (role <> 'crew' OR crew_id IS NOT NULL)
);

-- Only the SHA-256 of a session token is stored: a leaked table opens no session.
CREATE TABLE sessions (
  token_hash text PRIMARY KEY,
  user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  ip         text
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Who, what, when, from where; refused attempts (401, 403, 409) included.
CREATE TABLE audit_log (
  id       bigserial PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT now(),
  user_id  bigint,
  username text,
  role     text,
  action   text NOT NULL,
  target   text,
  outcome  text NOT NULL,
  status   integer,
  ip       text,
  detail   jsonb
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);

-- Facility type × area prefix (grid, community, street or district code) → department → crew.
-- The longest matching prefix wins; a row for the exact facility type beats a NULL one.
CREATE TABLE dispatch_routes (
  id            bigserial PRIMARY KEY,
  facility_type text,
  area_prefix   text NOT NULL,
  department_id text NOT NULL REFERENCES departments (id),
  crew_id       text REFERENCES crews (id),
  UNIQUE (facility_type, area_prefix)
);

-- Deadlines per severity and facility type (NULL: any type); domain.md "Deadlines".
CREATE TABLE case_deadlines (
  id             bigserial PRIMARY KEY,
  severity       text NOT NULL,
  facility_type  text,
  accept_minutes integer NOT NULL,
  handle_minutes integer NOT NULL,
  source         text NOT NULL,
  UNIQUE (severity, facility_type)
);

-- Per-rule policy: open a case or alarm only; auto-verify after telemetry shows recovery.
CREATE TABLE rule_case_policies (
  rule_id            text PRIMARY KEY,
  open_case          boolean NOT NULL DEFAULT true,
  auto_verify_after_s integer
);

ALTER TABLE cases
  ADD COLUMN source           text NOT NULL DEFAULT 'alarm'
    CHECK (source IN ('alarm', 'hotline', 'inspection', 'other')),
  ADD COLUMN description      text,
  ADD COLUMN location         text,
  ADD COLUMN lat              double precision,
  ADD COLUMN lon              double precision,
  ADD COLUMN department_id    text REFERENCES departments (id),
  ADD COLUMN crew_id          text REFERENCES crews (id),
  ADD COLUMN due_at           timestamptz,
  ADD COLUMN accept_due_at    timestamptz,
  ADD COLUMN dispatched_at    timestamptz,
  ADD COLUMN accepted_at      timestamptz,
  ADD COLUMN handled_at       timestamptz,
  ADD COLUMN verified_at      timestamptz,
  ADD COLUMN closed_at        timestamptz,
  ADD COLUMN cancelled_reason text,
  ADD COLUMN deferred_at      timestamptz,
  ADD COLUMN extension_count  integer NOT NULL DEFAULT 0,
  ADD COLUMN rework_count     integer NOT NULL DEFAULT 0,
  ADD COLUMN overdue          boolean NOT NULL DEFAULT false,
  -- Not signed for (accepted) by the crew within the accept deadline.
  ADD COLUMN accept_overdue   boolean NOT NULL DEFAULT false,
  ADD COLUMN escalation_area  text,
  ADD COLUMN escalated_at     timestamptz;
CREATE INDEX cases_crew_idx ON cases (crew_id, state);
CREATE INDEX cases_due_idx ON cases (due_at) WHERE state NOT IN ('closed', 'cancelled');

-- One row per case change, keyed by the version it took: the timeline of a case and
-- what a reconnecting client missed. `snapshot` is the case after the change.
CREATE TABLE case_events (
  version      bigint PRIMARY KEY,
  case_id      bigint NOT NULL REFERENCES cases (id),
  at           timestamptz NOT NULL DEFAULT now(),
  action       text NOT NULL,
  reason       text NOT NULL,
  from_state   text,
  to_state     text NOT NULL,
  actor_id     bigint,
  actor_name   text,
  note         text,
  data         jsonb NOT NULL DEFAULT '{}',
  crew_id      text,
  prev_crew_id text,
  district     text,
  snapshot     jsonb NOT NULL
);
CREATE INDEX case_events_case_idx ON case_events (case_id, version);

CREATE TABLE case_photos (
  id           bigserial PRIMARY KEY,
  case_id      bigint NOT NULL REFERENCES cases (id),
  file_name    text NOT NULL,
  content_type text NOT NULL,
  bytes        integer NOT NULL,
  uploaded_by  bigint,
  at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhooks (
  id         bigserial PRIMARY KEY,
  url        text NOT NULL,
  secret     text NOT NULL,
  events     text[] NOT NULL DEFAULT '{}',
  enabled    boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Every delivery attempt series; status 'dead' is the dead-letter record.
CREATE TABLE webhook_deliveries (
  id           bigserial PRIMARY KEY,
  webhook_id   bigint NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  event        text NOT NULL,
  payload      jsonb NOT NULL,
  status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts     integer NOT NULL DEFAULT 0,
  last_status  integer,
  last_error   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_status_idx ON webhook_deliveries (status, id);

-- Down Migration
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP TABLE case_photos;
DROP TABLE case_events;
ALTER TABLE cases
  DROP COLUMN source, DROP COLUMN description, DROP COLUMN location, DROP COLUMN lat,
  DROP COLUMN lon, DROP COLUMN department_id, DROP COLUMN crew_id, DROP COLUMN due_at,
  DROP COLUMN accept_due_at, DROP COLUMN dispatched_at, DROP COLUMN accepted_at,
  DROP COLUMN handled_at, DROP COLUMN verified_at, DROP COLUMN closed_at,
  DROP COLUMN cancelled_reason, DROP COLUMN deferred_at, DROP COLUMN extension_count,
  DROP COLUMN rework_count, DROP COLUMN overdue, DROP COLUMN accept_overdue, DROP COLUMN escalation_area,
  DROP COLUMN escalated_at;
DROP TABLE rule_case_policies;
DROP TABLE case_deadlines;
DROP TABLE dispatch_routes;
DROP TABLE audit_log;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE crews;
DROP TABLE departments;
