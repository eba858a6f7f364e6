-- Vault Transit's key settings (issue 18; engine keyring.rs `KeySettings`), as in
-- migrations/sqlite/0011_transit_keys.sql: derived keys, convergent encryption, material imported
-- through BYOK, and the lowest version a caller may ask to encrypt, sign or MAC with (0: none).
ALTER TABLE keys ADD COLUMN derived BIGINT NOT NULL DEFAULT 0 CHECK (derived IN (0, 1));
ALTER TABLE keys ADD COLUMN convergent BIGINT NOT NULL DEFAULT 0 CHECK (convergent IN (0, 1));
ALTER TABLE keys ADD COLUMN imported BIGINT NOT NULL DEFAULT 0 CHECK (imported IN (0, 1));
ALTER TABLE keys ADD COLUMN min_encryption_version BIGINT NOT NULL DEFAULT 0
    CHECK (min_encryption_version BETWEEN 0 AND 99999);
