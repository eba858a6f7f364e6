-- Vault Transit's `allow_plaintext_backup` (issue 18; engine keyring.rs `KeySettings`): the key
-- may be backed up through Transit's `backup` (approval-gated; the backup holds the material
-- wrapped under the master key). May only be turned on. 0/1 as the other flags.
ALTER TABLE keys ADD COLUMN allow_plaintext_backup INTEGER NOT NULL DEFAULT 0
    CHECK (allow_plaintext_backup IN (0, 1));
