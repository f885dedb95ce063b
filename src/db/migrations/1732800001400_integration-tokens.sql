-- Up Migration

-- Long-lived API tokens for machines (Node-RED, a vendor's system), issue #14.
-- Only the SHA-256 of a 256-bit random token is kept (like sessions): it is
-- shown once at creation. People keep logging in with sessions.
CREATE TABLE integration_tokens (
  id           bigserial PRIMARY KEY,
  name         text NOT NULL,
  token_hash   text NOT NULL UNIQUE,
  role         text NOT NULL CHECK (role IN ('viewer', 'operator')),
  created_by   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at   timestamptz,
  revoked_by   text
);

-- A name names one live token; a revoked token's name may be reused.
CREATE UNIQUE INDEX integration_tokens_live_name ON integration_tokens (name) WHERE revoked_at IS NULL;

-- Down Migration

DROP TABLE integration_tokens;
