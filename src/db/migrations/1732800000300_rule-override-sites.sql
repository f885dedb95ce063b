-- Up Migration

-- Rule overrides per construction site too (#4): dust and noise limits differ
-- per site (domain.md dust: "local standards differ, so limits are per
-- site"). A site is devices.attrs.site; overrides apply district, grid, site,
-- then device, each merged deeply over the one before.
ALTER TABLE rule_overrides DROP CONSTRAINT rule_overrides_scope_check;
ALTER TABLE rule_overrides
  ADD CONSTRAINT rule_overrides_scope_check CHECK (scope IN ('district', 'grid', 'site', 'device'));

-- Down Migration
DELETE FROM rule_overrides WHERE scope = 'site';
ALTER TABLE rule_overrides DROP CONSTRAINT rule_overrides_scope_check;
ALTER TABLE rule_overrides
  ADD CONSTRAINT rule_overrides_scope_check CHECK (scope IN ('district', 'grid', 'device'));
