-- Up Migration

-- Hourly rollups per area (grid code), facility type and metric, for district
-- and type series over long ranges (docs/storage.md). Rolled up by the hub from
-- telemetry_5m joined with devices on every kind of server, so each hour counts
-- a device under the grid it had when the hour was rolled (decision 0116).
CREATE TABLE telemetry_area_1h (
  bucket    timestamptz NOT NULL,
  grid_code text NOT NULL,
  type      text NOT NULL,
  metric    text NOT NULL,
  n         bigint NOT NULL,
  sum       double precision NOT NULL,
  min       double precision NOT NULL,
  max       double precision NOT NULL,
  PRIMARY KEY (bucket, grid_code, type, metric)
);

-- How far a hub-maintained rollup is complete: hours before `through` are in it,
-- later ones are read from telemetry_5m.
CREATE TABLE rollup_watermarks (
  name    text PRIMARY KEY,
  through timestamptz NOT NULL
);

-- The refresh and the area series read telemetry_5m by time range; a hypertable
-- has that index already, plain PostgreSQL needs one.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
    CREATE INDEX telemetry_5m_bucket_idx ON telemetry_5m (bucket);
  END IF;
END $$;

-- Down Migration
DROP INDEX IF EXISTS telemetry_5m_bucket_idx;
DROP TABLE rollup_watermarks;
DROP TABLE telemetry_area_1h;
