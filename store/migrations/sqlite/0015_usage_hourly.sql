-- The usage series: data-plane use per key, version, operation and UTC hour (`hour`: hours since
-- the epoch), all callers together, for the console's chart and GET /v1/admin/keys/{name}/usage.
-- Written in the same transaction as `usage` (the totals); each write deletes the hours older
-- than the retention (kms-engine store_records.rs USAGE_SERIES_RETENTION_MS, 90 days). The
-- primary key leads with the key and the hour: a key's series over a range is one index range.
CREATE TABLE usage_hourly (
    key_id      BLOB NOT NULL REFERENCES keys (id),
    hour        INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    operation   INTEGER NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (key_id, hour, version, operation)
);
-- For the pruning by age.
CREATE INDEX usage_hourly_by_hour ON usage_hourly (hour);

-- The use recorded before this migration, per hour (pruned to the retention at the next write).
INSERT INTO usage_hourly (key_id, hour, version, operation, count)
    SELECT key_id, minute / 60, version, operation, SUM(count)
    FROM usage GROUP BY key_id, minute / 60, version, operation;
