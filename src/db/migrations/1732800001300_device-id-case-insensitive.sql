-- Up Migration

-- Device ids are one device whatever their case (issue #11, decision 0132):
-- fx-001 and FX-001 cannot both be registered. The id keeps the spelling it
-- was registered with (MQTT username and topics match it exactly).
-- Existing duplicates are never merged or deleted here: both rows may hold
-- readings and live secrets, so the migration stops and names them; an
-- admin deletes or re-registers all but one, then starts the hub again.
DO $$
DECLARE
  dup text;
BEGIN
  SELECT string_agg(ids, '; ') INTO dup FROM (
    SELECT string_agg(id, ', ' ORDER BY id) AS ids
    FROM devices GROUP BY lower(id) HAVING count(*) > 1 ORDER BY 1 LIMIT 20
  ) d;
  IF dup IS NOT NULL THEN
    RAISE EXCEPTION 'device ids that differ only in case: %', dup
      USING HINT = 'Keep one device of each group (docs/gateway.md, "Device ids"), then start again.';
  END IF;
END $$;

CREATE UNIQUE INDEX devices_id_lower_key ON devices (lower(id));

-- Down Migration
DROP INDEX IF EXISTS devices_id_lower_key;
