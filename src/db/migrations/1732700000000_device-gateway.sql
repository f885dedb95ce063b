-- Up Migration

-- Device gateway (#6): who is online, and commands sent to devices.

-- One row per device that ever connected; the broker writes it in batches
-- (STATUS_FLUSH_INTERVAL_MS), never once per message.
CREATE TABLE device_status (
  device_id  text PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
  online     boolean NOT NULL,
  last_seen  timestamptz NOT NULL,
  address    text,
  protocol   text,
  node_id    text,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_status_offline_idx ON device_status (last_seen) WHERE NOT online;

CREATE TABLE device_commands (
  id         text PRIMARY KEY,
  device_id  text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  name       text NOT NULL,
  args       jsonb NOT NULL DEFAULT '{}',
  state      text NOT NULL CHECK (state IN ('sent', 'acknowledged', 'failed', 'timed_out')),
  error      text,
  result     jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_commands_device_idx ON device_commands (device_id, created_at DESC);
CREATE INDEX device_commands_pending_idx ON device_commands (created_at) WHERE state = 'sent';

-- Down Migration

DROP TABLE device_commands;
DROP TABLE device_status;
