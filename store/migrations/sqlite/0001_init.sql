-- The KMS store, SQLite dialect. Integer codes for algorithms, states, operations and outcomes are
-- the explicit discriminants in kms-engine (algorithm.rs, version.rs, audit.rs); never renumber.
-- Timestamps are milliseconds since the Unix epoch, UTC. Ids are 16-byte UUIDs.

-- One row: the change-feed revision and the audit chain's head. Every write transaction updates it,
-- which also serialises writers on backends without a database-wide write lock.
CREATE TABLE store_meta (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    revision    INTEGER NOT NULL,
    audit_seq   INTEGER NOT NULL,
    audit_head  BLOB NOT NULL
);
INSERT INTO store_meta (id, revision, audit_seq, audit_head) VALUES (1, 0, 0, zeroblob(32));

-- The change feed followed by the key-sync actor. kind: 1 = key (key_id set), 2 = credentials.
CREATE TABLE changes (
    revision    INTEGER PRIMARY KEY,
    kind        INTEGER NOT NULL CHECK (kind IN (1, 2)),
    key_id      BLOB,
    at          INTEGER NOT NULL
);

CREATE TABLE keys (
    id                      BLOB PRIMARY KEY,
    name                    TEXT NOT NULL UNIQUE,
    algorithm               INTEGER NOT NULL,
    min_decryption_version  INTEGER NOT NULL DEFAULT 1,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
);

-- Key material only ever wrapped under a master key; NULL once the version is destroyed.
CREATE TABLE key_versions (
    key_id          BLOB NOT NULL REFERENCES keys (id),
    version         INTEGER NOT NULL CHECK (version BETWEEN 1 AND 99999),
    state           INTEGER NOT NULL CHECK (state BETWEEN 1 AND 5),
    master_key_id   TEXT,
    wrapped         BLOB,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (key_id, version),
    CHECK ((state = 5) = (wrapped IS NULL)),
    CHECK ((wrapped IS NULL) = (master_key_id IS NULL))
);
-- At most one active version per key (the store code keeps it at exactly one).
CREATE UNIQUE INDEX key_versions_one_active ON key_versions (key_id) WHERE state = 1;

-- Every change to a key's versions or grants: who, when, from what to what, and why.
CREATE TABLE key_events (
    id          INTEGER PRIMARY KEY,
    key_id      BLOB NOT NULL REFERENCES keys (id),
    version     INTEGER,
    action      TEXT NOT NULL,
    from_state  INTEGER,
    to_state    INTEGER,
    actor       TEXT NOT NULL,
    reason      TEXT,
    at          INTEGER NOT NULL
);
CREATE INDEX key_events_by_key ON key_events (key_id, id);

CREATE TABLE apps (
    id          BLOB PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

-- Bearer tokens, hashed (see kms-engine token.rs). kind: 1 = app, 2 = root.
CREATE TABLE tokens (
    hash        BLOB PRIMARY KEY,
    kind        INTEGER NOT NULL CHECK (kind IN (1, 2)),
    app_id      BLOB REFERENCES apps (id),
    label       TEXT,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    CHECK ((kind = 1) = (app_id IS NOT NULL)),
    CHECK ((kind = 2) = (label IS NOT NULL))
);
CREATE UNIQUE INDEX tokens_live_root_label ON tokens (label) WHERE kind = 2 AND revoked_at IS NULL;

CREATE TABLE grants (
    key_id      BLOB NOT NULL REFERENCES keys (id),
    app_id      BLOB NOT NULL REFERENCES apps (id),
    operation   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (key_id, app_id, operation)
);

-- Append-only, hash-chained (kms-engine audit.rs). outcome: 1 success, 2 denied, 3 failed.
CREATE TABLE audit (
    seq         INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT,
    outcome     INTEGER NOT NULL,
    code        TEXT,
    remote      TEXT,
    detail      TEXT,
    prev_hash   BLOB NOT NULL,
    hash        BLOB NOT NULL
);
CREATE INDEX audit_by_actor ON audit (actor, seq);
CREATE INDEX audit_by_target ON audit (target, seq);
