-- The management center: people, their sessions, approvals of sensitive actions, and the seals
-- on the audit chain's head.

CREATE TABLE users (
    name            TEXT PRIMARY KEY,
    roles           TEXT NOT NULL,          -- comma-separated role names (kms-engine role.rs)
    password_hash   TEXT NOT NULL,          -- argon2id PHC string
    totp_sealed     BLOB NOT NULL,          -- TOTP secret, AES-256-GCM under an HSM-wrapped key
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER,
    totp_last_step  INTEGER NOT NULL DEFAULT 0,
    disabled        INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

-- Admin sessions: bearer tokens, hashed like every other token.
CREATE TABLE sessions (
    hash        BLOB PRIMARY KEY,
    user_name   TEXT NOT NULL REFERENCES users (name),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    ended_at    INTEGER
);
CREATE INDEX sessions_by_user ON sessions (user_name);

-- state: 1 pending, 2 executed, 3 rejected, 4 executing (kms-engine people.rs).
CREATE TABLE approvals (
    id              INTEGER PRIMARY KEY,
    action          TEXT NOT NULL,
    target          TEXT NOT NULL,
    params          TEXT NOT NULL,
    requester       TEXT NOT NULL,
    quorum          INTEGER NOT NULL CHECK (quorum >= 1),
    approver_roles  TEXT NOT NULL,
    state           INTEGER NOT NULL CHECK (state BETWEEN 1 AND 4),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    executed_at     INTEGER,
    result          TEXT
);

CREATE TABLE approval_votes (
    approval_id INTEGER NOT NULL REFERENCES approvals (id),
    user_name   TEXT NOT NULL,
    approve     INTEGER NOT NULL CHECK (approve IN (0, 1)),
    at          INTEGER NOT NULL,
    PRIMARY KEY (approval_id, user_name)
);

-- The audit chain's head at `seq`, with an HMAC-SHA256 under the audit seal key.
CREATE TABLE audit_seals (
    seq     INTEGER PRIMARY KEY,
    head    BLOB NOT NULL,
    mac     BLOB NOT NULL,
    at      INTEGER NOT NULL
);
CREATE INDEX audit_by_at ON audit (at);

-- A key created exportable may have its material exported (wrapped to a requester's public key)
-- once a quorum approves.
ALTER TABLE keys ADD COLUMN exportable INTEGER NOT NULL DEFAULT 0 CHECK (exportable IN (0, 1));
