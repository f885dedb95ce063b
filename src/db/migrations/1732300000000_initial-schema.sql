-- Up Migration

-- TimescaleDB when the server offers it; plain PostgreSQL otherwise (docs/storage.md).
-- A server that lists the extension without preloading it refuses CREATE EXTENSION:
-- that is plain PostgreSQL for us, not a failed start.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
    BEGIN
      CREATE EXTENSION IF NOT EXISTS timescaledb;
    EXCEPTION WHEN OTHERS THEN
      RAISE NOTICE 'timescaledb is available but cannot be created here: %', SQLERRM;
    END;
  END IF;
END $$;

-- The four-level network and its unit grids (domain/grid.ts).
CREATE TABLE areas (
  code        text PRIMARY KEY,
  level       text NOT NULL CHECK (level IN ('city', 'district', 'street', 'community', 'grid')),
  name        text NOT NULL,
  parent_code text REFERENCES areas (code)
);
CREATE INDEX areas_parent_idx ON areas (parent_code);

CREATE TABLE devices (
  id          text PRIMARY KEY,
  type        text NOT NULL,
  name        text NOT NULL,
  grid_code   text NOT NULL REFERENCES areas (code),
  lat         double precision,
  lon         double precision,
  attrs       jsonb NOT NULL DEFAULT '{}',
  -- scrypt$N$r$p$salt$hash; the secret itself is never stored.
  secret_hash text NOT NULL,
  enabled     boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_type_idx ON devices (type);
CREATE INDEX devices_grid_idx ON devices (grid_code);

-- One row per reading; metrics as jsonb so seven facility types share one table.
-- (device_id, time) makes inserts idempotent: a retransmitted reading is one row.
CREATE TABLE telemetry (
  device_id text NOT NULL,
  time      timestamptz NOT NULL,
  data      jsonb NOT NULL,
  PRIMARY KEY (device_id, time)
);

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
    -- One-day chunks: a day of a large city's readings fits comfortably in memory.
    PERFORM create_hypertable('telemetry', by_range('time', INTERVAL '1 day'));
  END IF;
END $$;

CREATE TABLE dead_letters (
  id          bigserial PRIMARY KEY,
  received_at timestamptz NOT NULL DEFAULT now(),
  device_id   text,
  topic       text NOT NULL,
  code        text NOT NULL,
  reason      text NOT NULL,
  payload     text NOT NULL,
  payload_bytes integer NOT NULL
);
CREATE INDEX dead_letters_received_idx ON dead_letters (received_at DESC);
CREATE INDEX dead_letters_device_idx ON dead_letters (device_id, received_at DESC);

CREATE TABLE rules (
  id            text PRIMARY KEY,
  version       integer NOT NULL DEFAULT 1,
  facility_type text NOT NULL,
  kind          text NOT NULL,
  severity      text NOT NULL CHECK (severity IN ('critical', 'major', 'minor', 'warning')),
  title         text NOT NULL,
  description   text NOT NULL,
  source        text NOT NULL,
  settings      jsonb NOT NULL,
  enabled       boolean NOT NULL DEFAULT true,
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE alarms (
  id               bigserial PRIMARY KEY,
  device_id        text NOT NULL REFERENCES devices (id),
  rule_id          text NOT NULL REFERENCES rules (id),
  rule_version     integer NOT NULL,
  facility_type    text NOT NULL,
  grid_code        text NOT NULL,
  severity         text NOT NULL,
  state            text NOT NULL CHECK (state IN ('open', 'cleared')),
  title            text NOT NULL,
  metric           text NOT NULL,
  threshold        jsonb,
  last_value       jsonb,
  peak_value       double precision,
  count            integer NOT NULL DEFAULT 1,
  first_reading_at timestamptz NOT NULL,
  last_reading_at  timestamptz NOT NULL,
  opened_at        timestamptz NOT NULL DEFAULT now(),
  cleared_at       timestamptz
);
-- Never two open alarms for the same (source, rule) (domain.md, "Alarms and cases").
CREATE UNIQUE INDEX alarms_one_open_idx ON alarms (device_id, rule_id) WHERE state = 'open';

-- Every change of a case takes the next value, so clients can resume after a version.
CREATE SEQUENCE case_version_seq;

CREATE TABLE cases (
  id            bigserial PRIMARY KEY,
  code          text NOT NULL UNIQUE,
  version       bigint NOT NULL DEFAULT nextval('case_version_seq'),
  state         text NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('component', 'event')),
  severity      text NOT NULL,
  title         text NOT NULL,
  facility_type text,
  device_id     text REFERENCES devices (id),
  grid_code     text REFERENCES areas (code),
  alarm_id      bigint UNIQUE REFERENCES alarms (id),
  recovered_at  timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cases_version_idx ON cases (version);
CREATE INDEX cases_state_idx ON cases (state, created_at DESC);

-- Down Migration
DROP TABLE cases;
DROP SEQUENCE case_version_seq;
DROP TABLE alarms;
DROP TABLE rules;
DROP TABLE dead_letters;
DROP TABLE telemetry;
DROP TABLE devices;
DROP TABLE areas;
