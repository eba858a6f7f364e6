-- Master keys as recorded by the store, and master-key rotation jobs. The key material itself is
-- only ever in the HSM; the store knows each key's id, check value, origin and state.
-- state: 1 active, 2 retiring, 3 destroyed. origin: 1 generated, 2 components.
CREATE TABLE master_keys (
    id          TEXT PRIMARY KEY,
    kcv         TEXT NOT NULL,
    origin      INTEGER NOT NULL CHECK (origin IN (1, 2)),
    state       INTEGER NOT NULL CHECK (state BETWEEN 1 AND 3),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
-- At most one active master key.
CREATE UNIQUE INDEX master_keys_one_active ON master_keys (state) WHERE state = 1;

-- state: 1 running, 2 rewrapped (every version under to_key, committed), 3 done (from_key destroyed).
CREATE TABLE mk_rotations (
    id          INTEGER PRIMARY KEY,
    from_key    TEXT NOT NULL REFERENCES master_keys (id),
    to_key      TEXT NOT NULL REFERENCES master_keys (id),
    state       INTEGER NOT NULL CHECK (state BETWEEN 1 AND 3),
    rewrapped   INTEGER NOT NULL DEFAULT 0,
    started_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE INDEX key_versions_by_master_key ON key_versions (master_key_id);
