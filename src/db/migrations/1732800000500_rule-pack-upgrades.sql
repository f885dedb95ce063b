-- Up Migration

-- Pack upgrades (#4): a default rule remembers the pack definition it was last
-- set from, so a start with a newer pack can tell a rule the city has not
-- edited (upgraded to the new default, next version) from one it has (kept;
-- the newer default waits in pack_pending and GET /api/rules shows it).
-- Rows from before this migration have none: src/db/rules.ts takes a rule
-- still at version 1 as the pack's, unedited.
ALTER TABLE rules ADD COLUMN pack_definition jsonb, ADD COLUMN pack_pending jsonb;

-- Down Migration
ALTER TABLE rules DROP COLUMN pack_definition, DROP COLUMN pack_pending;
