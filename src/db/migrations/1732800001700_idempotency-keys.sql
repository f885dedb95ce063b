-- Up Migration

-- Idempotency keys of case creation and case actions (issue #13): the crew app's
-- offline queue and Node-RED replay a request with the same `Idempotency-Key`
-- and get the stored response instead of a second action. Per user; kept 24 h.
CREATE TABLE idempotency_keys (
  user_id      bigint NOT NULL,
  key          text NOT NULL,
  -- SHA-256 of method, path and body: the same key with another request is refused.
  request_hash text NOT NULL,
  -- Null while the first request is being processed.
  status       integer,
  body         text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Down Migration
DROP TABLE idempotency_keys;
