-- Up Migration

-- Grid officers and citizens (issue #16): the 部件/事件 category of every case,
-- the inspector role, patrols with GPS tracks, field reports (上报) with their
-- photos and acceptance (受理), on-site verifications (核查), citizens' ratings
-- and the admin's category overrides. docs/api.md, docs/cases.md, docs/domain.md.

ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
  CHECK (role IN ('admin', 'operator', 'supervisor', 'crew', 'viewer', 'inspector'));

ALTER TABLE cases DROP CONSTRAINT cases_source_check;
ALTER TABLE cases ADD CONSTRAINT cases_source_check
  CHECK (source IN ('alarm', 'hotline', 'inspection', 'other', 'citizen'));

ALTER TABLE cases ADD COLUMN category_code text;
-- Existing cases take their facility type's class as domain/classification.ts
-- had it when this migration was written (a snapshot: later changes to the table
-- apply to new cases only); events of condition types take their 事件 class.
UPDATE cases SET category_code = CASE
    WHEN kind = 'event' AND facility_type = 'waterlogging' THEN 'S0406'
    WHEN kind = 'event' AND facility_type = 'dust_noise' THEN 'S0302'
    WHEN kind = 'event' AND facility_type = 'gas' THEN 'S0403'
    WHEN facility_type = 'streetlight' THEN 'B0125'
    WHEN facility_type = 'manhole' THEN 'B0102'
    WHEN facility_type = 'pump_station' THEN 'B0121'
    WHEN facility_type = 'waterlogging' THEN 'B0690'
    WHEN facility_type = 'gas' THEN 'B0120'
    WHEN facility_type = 'dust_noise' THEN 'B0691'
    WHEN facility_type = 'elevator' THEN 'B0692'
    WHEN kind = 'event' THEN 'S0601'
    ELSE 'B0699'
  END;
CREATE INDEX cases_category_idx ON cases (category_code);

-- A route may name a category (a class `B0101` or a major class `B01`).
ALTER TABLE dispatch_routes ADD COLUMN category_code text;
ALTER TABLE dispatch_routes DROP CONSTRAINT dispatch_routes_facility_type_area_prefix_key;
-- No category is a value of its own: one "any category" route per (type, area), as before.
CREATE UNIQUE INDEX dispatch_routes_key
  ON dispatch_routes (facility_type, area_prefix, coalesce(category_code, ''));

-- Admin overrides of the built-in classification (labels, public flag) and added classes.
CREATE TABLE case_categories (
  code       text PRIMARY KEY CHECK (code ~ '^[BS][0-9]{4}$'),
  label_zh   text NOT NULL,
  label_en   text NOT NULL,
  public     boolean NOT NULL DEFAULT true,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE patrols (
  id           bigserial PRIMARY KEY,
  inspector_id bigint NOT NULL REFERENCES users (id),
  grid_code    text,
  started_at   timestamptz NOT NULL,
  ended_at     timestamptz
);
-- One patrol under way per inspector.
CREATE UNIQUE INDEX patrols_open_idx ON patrols (inspector_id) WHERE ended_at IS NULL;

-- GPS fixes; a batch posted twice stores each fix once.
CREATE TABLE patrol_points (
  patrol_id  bigint NOT NULL REFERENCES patrols (id) ON DELETE CASCADE,
  at         timestamptz NOT NULL,
  lat        double precision NOT NULL,
  lon        double precision NOT NULL,
  accuracy_m real,
  PRIMARY KEY (patrol_id, at)
);

CREATE SEQUENCE field_report_version_seq;

CREATE TABLE field_reports (
  id                    bigserial PRIMARY KEY,
  code                  text NOT NULL UNIQUE,
  version               bigint NOT NULL DEFAULT nextval('field_report_version_seq'),
  source                text NOT NULL CHECK (source IN ('inspection', 'citizen')),
  state                 text NOT NULL CHECK (state IN ('reported', 'accepted', 'rejected', 'merged')),
  category_code         text NOT NULL,
  lat                   double precision NOT NULL,
  lon                   double precision NOT NULL,
  accuracy_m            real,
  grid_code             text REFERENCES areas (code),
  note                  text,
  reporter_id           bigint REFERENCES users (id),
  patrol_id             bigint REFERENCES patrols (id),
  -- A citizen's address and device fingerprint, salted hashes only (the abuse limits).
  client_hash           text,
  fingerprint_hash      text,
  created_at            timestamptz NOT NULL,
  accept_due_at         timestamptz NOT NULL,
  decided_at            timestamptz,
  decided_by            text,
  case_id               bigint REFERENCES cases (id),
  reject_reason         text CHECK (reject_reason IN ('invalid', 'duplicate', 'outside_remit')),
  reject_note           text,
  duplicate_of_case_id  bigint REFERENCES cases (id),
  merged_into_id        bigint REFERENCES field_reports (id),
  updated_at            timestamptz NOT NULL
);
CREATE INDEX field_reports_state_idx ON field_reports (state, created_at);
CREATE INDEX field_reports_category_idx ON field_reports (category_code, created_at);
CREATE INDEX field_reports_case_idx ON field_reports (case_id);
CREATE INDEX field_reports_reporter_idx ON field_reports (reporter_id, created_at DESC);
CREATE INDEX field_reports_merged_idx ON field_reports (merged_into_id);

CREATE TABLE field_report_photos (
  id           bigserial PRIMARY KEY,
  report_id    bigint NOT NULL REFERENCES field_reports (id),
  file_name    text NOT NULL,
  content_type text NOT NULL,
  bytes        integer NOT NULL,
  at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX field_report_photos_report_idx ON field_report_photos (report_id);

CREATE TABLE report_ratings (
  report_id bigint PRIMARY KEY REFERENCES field_reports (id),
  rating    text NOT NULL CHECK (rating IN ('satisfied', 'fairly', 'not')),
  comment   text,
  at        timestamptz NOT NULL
);

CREATE TABLE case_verifications (
  id             bigserial PRIMARY KEY,
  case_id        bigint NOT NULL REFERENCES cases (id),
  result         text NOT NULL CHECK (result IN ('passed', 'failed')),
  note           text,
  photo_ids      bigint[] NOT NULL DEFAULT '{}',
  inspector_id   bigint REFERENCES users (id),
  inspector_name text NOT NULL,
  -- Verifying as an inspector (on site) or as the control room.
  by_role        text NOT NULL,
  handled_at     timestamptz,
  due_at         timestamptz,
  at             timestamptz NOT NULL
);
CREATE INDEX case_verifications_case_idx ON case_verifications (case_id, at);
CREATE INDEX case_verifications_at_idx ON case_verifications (at);

-- Down Migration
DROP TABLE case_verifications;
DROP TABLE report_ratings;
DROP TABLE field_report_photos;
DROP TABLE field_reports;
DROP SEQUENCE field_report_version_seq;
DROP TABLE patrol_points;
DROP TABLE patrols;
DROP TABLE case_categories;
DROP INDEX dispatch_routes_key;
ALTER TABLE dispatch_routes ADD CONSTRAINT dispatch_routes_facility_type_area_prefix_key
  UNIQUE (facility_type, area_prefix);
ALTER TABLE dispatch_routes DROP COLUMN category_code;
DROP INDEX cases_category_idx;
ALTER TABLE cases DROP COLUMN category_code;
ALTER TABLE cases DROP CONSTRAINT cases_source_check;
ALTER TABLE cases ADD CONSTRAINT cases_source_check
  CHECK (source IN ('alarm', 'hotline', 'inspection', 'other'));
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
  CHECK (role IN ('admin', 'operator', 'supervisor', 'crew', 'viewer'));
