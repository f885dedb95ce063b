-- Up Migration

-- hub_grafana: the read-only role Grafana's data source logs in as (issue #14,
-- grafana/provisioning). SELECT only on what the dashboards read; never the
-- devices' secret hashes, users, sessions, tokens, audit log or raw readings.
-- Roles belong to the server, not the database: another hub database on the
-- same server may have created it. The hub gives it LOGIN and a password from
-- GRAFANA_DB_PASSWORD; until then it cannot log in. A migrating user without
-- CREATEROLE (a managed server) skips it, with a notice: create it by hand.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hub_grafana') THEN
    IF NOT (SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user) THEN
      RAISE NOTICE 'hub_grafana not created: % may not create roles', current_user;
      RETURN;
    END IF;
    BEGIN
      CREATE ROLE hub_grafana NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      -- Another database of this server created it at the same moment.
      NULL;
    END;
  END IF;
  -- CONNECT comes from PUBLIC, PostgreSQL's default; a server that revoked it
  -- needs GRANT CONNECT ON DATABASE by hand (docs/deploy.md).
  GRANT USAGE ON SCHEMA public TO hub_grafana;
  GRANT SELECT ON areas, device_status, device_latest, telemetry_5m, telemetry_area_1h,
    alarms, cases, case_events, rules TO hub_grafana;
  GRANT SELECT (id, type, name, grid_code, lat, lon, enabled, created_at) ON devices TO hub_grafana;
END $$;

-- Down Migration

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hub_grafana') THEN
    REVOKE SELECT ON areas, device_status, device_latest, telemetry_5m, telemetry_area_1h,
      alarms, cases, case_events, rules FROM hub_grafana;
    REVOKE SELECT (id, type, name, grid_code, lat, lon, enabled, created_at) ON devices FROM hub_grafana;
    REVOKE USAGE ON SCHEMA public FROM hub_grafana;
  END IF;
END $$;
