-- Up Migration

-- Merges jsonb objects in order, later keys winning: the latest value of every metric.
CREATE AGGREGATE hub_jsonb_merge(jsonb) (SFUNC = jsonb_concat, STYPE = jsonb, INITCOND = '{}');

-- Latest values: the current value of every metric of every device, for the map
-- and for the rules' restarts; one row per device.
CREATE TABLE device_latest (
  device_id text PRIMARY KEY,
  time      timestamptz NOT NULL,
  data      jsonb NOT NULL
);

-- 5-minute rollups per device and metric, maintained in the statement that inserts
-- the readings (only rows actually inserted count, so replays never double-count).
-- Booleans count as 0/1, so `avg` of `on` is the share of time a lamp was lit.
CREATE TABLE telemetry_5m (
  device_id text NOT NULL,
  metric    text NOT NULL,
  bucket    timestamptz NOT NULL,
  n         integer NOT NULL,
  sum       double precision NOT NULL,
  min       double precision NOT NULL,
  max       double precision NOT NULL,
  PRIMARY KEY (device_id, metric, bucket)
);

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
    -- Rollups are 1/300 of the readings at one a second; 30-day chunks keep them few.
    PERFORM create_hypertable('telemetry_5m', by_range('bucket', INTERVAL '30 days'));
  ELSE
    -- Plain PostgreSQL: native daily partitions, created ahead and dropped for
    -- retention by the hub (db/storage.ts). The default partition catches readings
    -- outside the prepared days (a device uploading a backlog), so none is refused.
    ALTER TABLE telemetry RENAME TO telemetry_unpartitioned;
    ALTER TABLE telemetry_unpartitioned RENAME CONSTRAINT telemetry_pkey TO telemetry_unpartitioned_pkey;
    CREATE TABLE telemetry (
      device_id text NOT NULL,
      time      timestamptz NOT NULL,
      data      jsonb NOT NULL,
      PRIMARY KEY (device_id, time)
    ) PARTITION BY RANGE (time);
    CREATE TABLE telemetry_default PARTITION OF telemetry DEFAULT;
    INSERT INTO telemetry SELECT device_id, time, data FROM telemetry_unpartitioned;
    DROP TABLE telemetry_unpartitioned;
  END IF;
END $$;

-- Down Migration
DROP TABLE telemetry_5m;
DROP TABLE device_latest;
DROP AGGREGATE hub_jsonb_merge(jsonb);
