-- Zones (issue 7): the public half of each zone's master key. The store wraps working keys to it
-- for the zone's service nodes; the private half never reaches the store.
CREATE TABLE zones (
    name          TEXT PRIMARY KEY,
    public_key    TEXT NOT NULL,
    fingerprint   TEXT NOT NULL UNIQUE,
    registered_at BIGINT NOT NULL,
    registered_by TEXT NOT NULL
);
