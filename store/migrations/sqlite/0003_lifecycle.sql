-- The full version lifecycle, scheduled rotation with notices, and usage per version.

-- AES-256-GCM-SIV keys may be deterministic (same plaintext and context, same ciphertext).
ALTER TABLE keys ADD COLUMN deterministic INTEGER NOT NULL DEFAULT 0;
-- Scheduled rotation: NULL means none. Milliseconds.
ALTER TABLE keys ADD COLUMN rotation_period_ms INTEGER;
ALTER TABLE keys ADD COLUMN notice_period_ms INTEGER NOT NULL DEFAULT 604800000;

-- When a version scheduled for destruction is destroyed.
ALTER TABLE key_versions ADD COLUMN destroy_at INTEGER;

-- Data-plane use, aggregated per key, version, caller, operation and minute (never per request).
CREATE TABLE usage (
    key_id      BLOB NOT NULL REFERENCES keys (id),
    version     INTEGER NOT NULL,
    principal   TEXT NOT NULL,
    operation   INTEGER NOT NULL,
    minute      INTEGER NOT NULL,
    count       INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    PRIMARY KEY (key_id, version, principal, operation, minute)
);

-- Lifecycle events for administrators and webhooks: rotation notices, rotations, destructions.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    key_id      BLOB,
    key_name    TEXT,
    version     INTEGER,
    detail      TEXT NOT NULL
);

-- One rotation notice per key and active version: the notice for the period that version opened.
CREATE TABLE rotation_notices (
    key_id      BLOB NOT NULL REFERENCES keys (id),
    version     INTEGER NOT NULL,
    event_id    INTEGER NOT NULL REFERENCES events (id),
    PRIMARY KEY (key_id, version)
);

-- Each event goes to each configured webhook, retried with backoff until delivered.
CREATE TABLE webhook_deliveries (
    event_id        INTEGER NOT NULL REFERENCES events (id),
    url             TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER,
    failed_at       INTEGER,
    last_error      TEXT,
    PRIMARY KEY (event_id, url)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
