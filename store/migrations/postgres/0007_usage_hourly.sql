-- The usage series, as in migrations/sqlite/0014_usage_hourly.sql: data-plane use per key,
-- version, operation and UTC hour (`hour`: hours since the epoch), all callers together. Written
-- in the same transaction as `usage` (the totals); each write deletes the hours older than the
-- retention (kms-engine store_records.rs USAGE_SERIES_RETENTION_MS, 90 days).
CREATE TABLE usage_hourly (
    key_id      BYTEA NOT NULL REFERENCES keys (id),
    hour        BIGINT NOT NULL,
    version     BIGINT NOT NULL,
    operation   BIGINT NOT NULL,
    count       BIGINT NOT NULL,
    PRIMARY KEY (key_id, hour, version, operation)
);
-- For the pruning by age.
CREATE INDEX usage_hourly_by_hour ON usage_hourly (hour);

-- The use recorded before this migration, per hour (pruned to the retention at the next write).
-- Minutes are never negative, so integer division is the floor.
INSERT INTO usage_hourly (key_id, hour, version, operation, count)
    SELECT key_id, minute / 60, version, operation, SUM(count)
    FROM usage GROUP BY key_id, minute / 60, version, operation;
