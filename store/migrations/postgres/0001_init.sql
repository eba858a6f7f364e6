-- The KMS store, PostgreSQL dialect: the SQLite schema (migrations/sqlite/0001..0009) as one
-- file, since no PostgreSQL store was deployed before. Keep the two in step: a later change to the
-- schema is a new migration in each directory.
--
-- Integer codes for algorithms, states, operations and outcomes are the explicit discriminants in
-- kms-engine (algorithm.rs, version.rs, audit.rs); never renumber. Every integer column is BIGINT
-- (the store reads and binds i64 throughout); flags are 0/1 BIGINTs as in SQLite. Timestamps are
-- milliseconds since the Unix epoch, UTC. Ids are 16-byte UUIDs.

-- One row: the change-feed revision and the audit chain's head. Every write transaction locks it
-- first (SELECT ... FOR UPDATE), which serialises writers across every process sharing the
-- database, so revisions commit in order and the audit chain has one head.
CREATE TABLE store_meta (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    revision    BIGINT NOT NULL,
    audit_seq   BIGINT NOT NULL,
    audit_head  BYTEA NOT NULL
);
INSERT INTO store_meta (id, revision, audit_seq, audit_head)
    VALUES (1, 0, 0, decode(repeat('00', 32), 'hex'));

-- The change feed followed by the key-sync actor. kind: 1 = key (key_id set), 2 = credentials.
CREATE TABLE changes (
    revision    BIGINT PRIMARY KEY,
    kind        BIGINT NOT NULL CHECK (kind IN (1, 2)),
    key_id      BYTEA,
    at          BIGINT NOT NULL
);

-- A deleted key keeps its row (history, usage and audit still name it) but not its name.
CREATE TABLE keys (
    id                      BYTEA PRIMARY KEY,
    name                    TEXT NOT NULL,
    algorithm               BIGINT NOT NULL,
    min_decryption_version  BIGINT NOT NULL DEFAULT 1,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL,
    deterministic           BIGINT NOT NULL DEFAULT 0,
    rotation_period_ms      BIGINT,
    notice_period_ms        BIGINT NOT NULL DEFAULT 604800000,
    exportable              BIGINT NOT NULL DEFAULT 0 CHECK (exportable IN (0, 1)),
    -- 0 general, 1 password with `aead` protection, 2 password with `hash` protection.
    purpose                 BIGINT NOT NULL DEFAULT 0,
    deletion_allowed        BIGINT NOT NULL DEFAULT 0 CHECK (deletion_allowed IN (0, 1)),
    deleted_at              BIGINT
);
-- One live key per name; deleted keys keep theirs without holding it.
CREATE UNIQUE INDEX keys_live_name ON keys (name) WHERE deleted_at IS NULL;

-- Key material only ever wrapped under a master key; NULL once the version is destroyed.
CREATE TABLE key_versions (
    key_id          BYTEA NOT NULL REFERENCES keys (id),
    version         BIGINT NOT NULL CHECK (version BETWEEN 1 AND 99999),
    state           BIGINT NOT NULL CHECK (state BETWEEN 1 AND 5),
    master_key_id   TEXT,
    wrapped         BYTEA,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    destroy_at      BIGINT,
    PRIMARY KEY (key_id, version),
    CHECK ((state = 5) = (wrapped IS NULL)),
    CHECK ((wrapped IS NULL) = (master_key_id IS NULL))
);
-- At most one active version per key (the store code keeps it at exactly one).
CREATE UNIQUE INDEX key_versions_one_active ON key_versions (key_id) WHERE state = 1;

-- Every change to a key's versions or grants: who, when, from what to what, and why.
CREATE TABLE key_events (
    id          BIGSERIAL PRIMARY KEY,
    key_id      BYTEA NOT NULL REFERENCES keys (id),
    version     BIGINT,
    action      TEXT NOT NULL,
    from_state  BIGINT,
    to_state    BIGINT,
    actor       TEXT NOT NULL,
    reason      TEXT,
    at          BIGINT NOT NULL
);
CREATE INDEX key_events_by_key ON key_events (key_id, id);

CREATE TABLE apps (
    id          BYTEA PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

-- Bearer tokens, hashed (see kms-engine token.rs). kind: 1 = app, 2 = root. `seq` orders tokens
-- created in the same millisecond (SQLite's rowid).
CREATE TABLE tokens (
    hash        BYTEA PRIMARY KEY,
    seq         BIGSERIAL NOT NULL,
    kind        BIGINT NOT NULL CHECK (kind IN (1, 2)),
    app_id      BYTEA REFERENCES apps (id),
    label       TEXT,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    -- Set by a rotation: the token stops working then. NULL: no expiry.
    expires_at  BIGINT,
    CHECK ((kind = 1) = (app_id IS NOT NULL)),
    CHECK ((kind = 2) = (label IS NOT NULL))
);
CREATE UNIQUE INDEX tokens_live_root_label ON tokens (label) WHERE kind = 2 AND revoked_at IS NULL;

CREATE TABLE grants (
    key_id      BYTEA NOT NULL REFERENCES keys (id),
    app_id      BYTEA NOT NULL REFERENCES apps (id),
    operation   BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (key_id, app_id, operation)
);

-- Append-only, hash-chained (kms-engine audit.rs). outcome: 1 success, 2 denied, 3 failed.
CREATE TABLE audit (
    seq         BIGINT PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT,
    outcome     BIGINT NOT NULL,
    code        TEXT,
    remote      TEXT,
    detail      TEXT,
    prev_hash   BYTEA NOT NULL,
    hash        BYTEA NOT NULL
);
CREATE INDEX audit_by_actor ON audit (actor, seq);
CREATE INDEX audit_by_target ON audit (target, seq);
CREATE INDEX audit_by_at ON audit (at);

-- Master keys as recorded by the store (the material is only ever in the HSM).
-- state: 1 active, 2 retiring, 3 destroyed. origin: 1 generated, 2 components.
CREATE TABLE master_keys (
    id          TEXT PRIMARY KEY,
    kcv         TEXT NOT NULL,
    origin      BIGINT NOT NULL CHECK (origin IN (1, 2)),
    state       BIGINT NOT NULL CHECK (state BETWEEN 1 AND 3),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
-- At most one active master key.
CREATE UNIQUE INDEX master_keys_one_active ON master_keys (state) WHERE state = 1;

-- state: 1 running, 2 rewrapped (every version under to_key, committed), 3 done (from_key destroyed).
CREATE TABLE mk_rotations (
    id          BIGSERIAL PRIMARY KEY,
    from_key    TEXT NOT NULL REFERENCES master_keys (id),
    to_key      TEXT NOT NULL REFERENCES master_keys (id),
    state       BIGINT NOT NULL CHECK (state BETWEEN 1 AND 3),
    rewrapped   BIGINT NOT NULL DEFAULT 0,
    started_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE INDEX key_versions_by_master_key ON key_versions (master_key_id);

-- Data-plane use, aggregated per key, version, caller, operation and minute (never per request).
CREATE TABLE usage (
    key_id      BYTEA NOT NULL REFERENCES keys (id),
    version     BIGINT NOT NULL,
    principal   TEXT NOT NULL,
    operation   BIGINT NOT NULL,
    minute      BIGINT NOT NULL,
    count       BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    PRIMARY KEY (key_id, version, principal, operation, minute)
);

-- Lifecycle events for administrators and webhooks: rotation notices, rotations, destructions.
CREATE TABLE events (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    key_id      BYTEA,
    key_name    TEXT,
    version     BIGINT,
    detail      TEXT NOT NULL
);

-- One rotation notice per key and active version: the notice for the period that version opened.
CREATE TABLE rotation_notices (
    key_id      BYTEA NOT NULL REFERENCES keys (id),
    version     BIGINT NOT NULL,
    event_id    BIGINT NOT NULL REFERENCES events (id),
    PRIMARY KEY (key_id, version)
);

-- Each event goes to each configured webhook, retried with backoff until delivered.
CREATE TABLE webhook_deliveries (
    event_id        BIGINT NOT NULL REFERENCES events (id),
    url             TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at    BIGINT,
    failed_at       BIGINT,
    last_error      TEXT,
    PRIMARY KEY (event_id, url)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;

CREATE TABLE users (
    name            TEXT PRIMARY KEY,
    roles           TEXT NOT NULL,          -- comma-separated role names (kms-engine role.rs)
    password_hash   TEXT NOT NULL,          -- argon2id PHC string
    totp_sealed     BYTEA NOT NULL,         -- TOTP secret, AES-256-GCM under an HSM-wrapped key
    failed_logins   BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT,
    totp_last_step  BIGINT NOT NULL DEFAULT 0,
    disabled        BIGINT NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- Admin sessions: bearer tokens, hashed like every other token.
CREATE TABLE sessions (
    hash        BYTEA PRIMARY KEY,
    user_name   TEXT NOT NULL REFERENCES users (name),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    ended_at    BIGINT
);
CREATE INDEX sessions_by_user ON sessions (user_name);

-- state: 1 pending, 2 executed, 3 rejected, 4 executing (kms-engine people.rs).
CREATE TABLE approvals (
    id              BIGSERIAL PRIMARY KEY,
    action          TEXT NOT NULL,
    target          TEXT NOT NULL,
    params          TEXT NOT NULL,
    requester       TEXT NOT NULL,
    quorum          BIGINT NOT NULL CHECK (quorum >= 1),
    approver_roles  TEXT NOT NULL,
    state           BIGINT NOT NULL CHECK (state BETWEEN 1 AND 4),
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    executed_at     BIGINT,
    result          TEXT
);

CREATE TABLE approval_votes (
    approval_id BIGINT NOT NULL REFERENCES approvals (id),
    user_name   TEXT NOT NULL,
    approve     BIGINT NOT NULL CHECK (approve IN (0, 1)),
    at          BIGINT NOT NULL,
    PRIMARY KEY (approval_id, user_name)
);

-- The audit chain's head at `seq`, with an HMAC-SHA256 under the audit seal key.
CREATE TABLE audit_seals (
    seq     BIGINT PRIMARY KEY,
    head    BYTEA NOT NULL,
    mac     BYTEA NOT NULL,
    at      BIGINT NOT NULL
);

-- One usage policy per key: the canonical JSON of kms-engine policy/mod.rs's PolicySpec.
CREATE TABLE key_policies (
    key_id      BYTEA PRIMARY KEY REFERENCES keys (id),
    policy      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Client-certificate identities for apps: SHA-256 fingerprint of the DER, bound once. `seq`
-- orders bindings made in the same millisecond.
CREATE TABLE app_certificates (
    fingerprint BYTEA PRIMARY KEY,
    seq         BIGSERIAL NOT NULL,
    app_id      BYTEA NOT NULL REFERENCES apps (id),
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX app_certificates_app ON app_certificates (app_id);
