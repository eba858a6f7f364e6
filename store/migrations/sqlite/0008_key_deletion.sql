-- no-transaction
-- Keys deleted through Vault Transit's `DELETE keys/:name` (issue 9). A deleted key keeps its row,
-- so its history, usage and audit records still name it, but its name is free again: the UNIQUE
-- constraint on `keys.name` becomes a partial unique index over the keys not deleted.
--
-- SQLite cannot drop a column constraint, so `keys` is rebuilt the way SQLite documents it
-- (https://sqlite.org/lang_altertable.html#otheralter): foreign keys off, one transaction that
-- creates the new table, copies, drops the old one and renames the new one into its place (the
-- tables that reference `keys` by name then reference the new one), foreign keys on again. That
-- needs this file to run outside sqlx's transaction (`no-transaction` above), and it is safe to run
-- again: if the process stopped after the commit and before sqlx recorded the migration, the
-- second run rebuilds the already rebuilt table (no key can have been deleted in between: the
-- store does not open until every migration is recorded).
--
-- A later migration that adds a column to `keys` must come after this one (0009 or later): the
-- copy below names the columns it knows.

PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE keys_0008 (
    id                      BLOB PRIMARY KEY,
    name                    TEXT NOT NULL,
    algorithm               INTEGER NOT NULL,
    min_decryption_version  INTEGER NOT NULL DEFAULT 1,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    deterministic           INTEGER NOT NULL DEFAULT 0,
    rotation_period_ms      INTEGER,
    notice_period_ms        INTEGER NOT NULL DEFAULT 604800000,
    exportable              INTEGER NOT NULL DEFAULT 0 CHECK (exportable IN (0, 1)),
    purpose                 INTEGER NOT NULL DEFAULT 0,
    -- Vault's `deletion_allowed`: 1 lets an administrator delete the key (off by default).
    deletion_allowed        INTEGER NOT NULL DEFAULT 0 CHECK (deletion_allowed IN (0, 1)),
    -- When the key was deleted: its versions are destroyed, its grants and policy removed, and the
    -- store no longer loads it or finds it by name. NULL: not deleted.
    deleted_at              INTEGER
);

INSERT INTO keys_0008 (id, name, algorithm, min_decryption_version, created_at, updated_at,
                       deterministic, rotation_period_ms, notice_period_ms, exportable, purpose)
SELECT id, name, algorithm, min_decryption_version, created_at, updated_at,
       deterministic, rotation_period_ms, notice_period_ms, exportable, purpose
FROM keys;

DROP TABLE keys;
ALTER TABLE keys_0008 RENAME TO keys;

-- One live key per name; deleted keys keep theirs without holding it.
CREATE UNIQUE INDEX keys_live_name ON keys (name) WHERE deleted_at IS NULL;

COMMIT;
PRAGMA foreign_keys = ON;
