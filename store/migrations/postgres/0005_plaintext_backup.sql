-- Vault Transit's `allow_plaintext_backup` (issue 18), as in
-- migrations/sqlite/0013_plaintext_backup.sql: the key may be backed up through Transit's
-- `backup` (approval-gated; the backup holds the material wrapped under the master key).
ALTER TABLE keys ADD COLUMN allow_plaintext_backup BIGINT NOT NULL DEFAULT 0
    CHECK (allow_plaintext_backup IN (0, 1));
