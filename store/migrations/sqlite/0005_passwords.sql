-- Password keys (docs/passwords.md): what a key is for. 0 general, 1 password with `aead`
-- protection, 2 password with `hash` protection (engine::keyring::Purpose::code).
ALTER TABLE keys ADD COLUMN purpose INTEGER NOT NULL DEFAULT 0;
