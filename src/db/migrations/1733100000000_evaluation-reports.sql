-- Up Migration

-- Period reports (daily report, monthly assessment, quarterly review; issue #15):
-- the figures are stored as they were computed, so a report never changes when
-- later data arrives; regenerating makes a new version.
CREATE TABLE evaluation_reports (
  id           bigserial PRIMARY KEY,
  kind         text NOT NULL CHECK (kind IN ('daily', 'monthly', 'quarterly')),
  period       text NOT NULL,
  version      integer NOT NULL CHECK (version > 0),
  generated_at timestamptz NOT NULL DEFAULT now(),
  generated_by text NOT NULL,
  figures      jsonb NOT NULL,
  UNIQUE (kind, period, version)
);

-- The city's score weights (one row); absent: the documented defaults.
CREATE TABLE evaluation_settings (
  id         boolean PRIMARY KEY DEFAULT true CHECK (id),
  weights    jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text
);

-- Down Migration
DROP TABLE evaluation_settings;
DROP TABLE evaluation_reports;
