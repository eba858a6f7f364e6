-- App tokens rotated with an overlap, and per-key usage policies (issue 5, apps).

-- A rotation gives an app's live tokens an expiry; the data plane checks it per request, so a
-- token stops working at that time without another store change. NULL: no expiry.
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;

-- One usage policy per key: allowed source ranges, UTC time windows, a rate limit per app. The
-- policy is the canonical JSON of kms-engine policy/mod.rs's PolicySpec; no row means no policy.
CREATE TABLE key_policies (
    key_id      BLOB PRIMARY KEY REFERENCES keys (id),
    policy      TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
