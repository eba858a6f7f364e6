//! Data-plane use: the totals and the hourly series are written in one transaction, the series
//! adds up to the totals, and hours older than the retention leave the series (not the totals).

use std::sync::Arc;

use kms_engine::algorithm::Operation;
use kms_engine::clock::{Clock, ManualClock, SystemClock, Timestamp};
use kms_engine::ids::KeyId;
use kms_engine::pool::UsageRecord;
use kms_engine::store::{KeyStore, StoreError, USAGE_SERIES_RETENTION_MS, UsageBucket};

use super::{event, new_key, rotation, v};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn record(key: KeyId, version: u32, who: &str, op: Operation, count: u64, at: i64) -> UsageRecord {
    UsageRecord {
        key,
        version: v(version),
        principal: Arc::from(who),
        operation: op,
        count,
        last_used: Timestamp::from_millis(at),
    }
}

fn bucket(version: u32, operation: Operation, hour: i64, count: u64) -> UsageBucket {
    UsageBucket {
        version: v(version),
        operation,
        hour: Timestamp::from_millis(hour),
        count,
    }
}

async fn series(store: &dyn KeyStore, key: KeyId, since: i64, until: i64) -> Vec<UsageBucket> {
    store
        .usage_series(
            key,
            Timestamp::from_millis(since),
            Timestamp::from_millis(until),
        )
        .await
        .unwrap()
}

/// The hourly series holds, per hour, version and operation, the sum of every caller's counts
/// of every write; the totals per caller are what they were without it; another key's use and
/// hours outside the range are not listed; a record older than the retention is counted in the
/// totals and not in the series.
pub async fn the_usage_series_adds_up_to_the_totals(store: &dyn KeyStore) {
    use Operation::{Decrypt, Encrypt};
    let key = new_key(store, "metered").await;
    store
        .rotate_key(&rotation(key, 2), &event("rotate_key"))
        .await
        .unwrap();
    let other = new_key(store, "other").await;
    // Hours relative to the wall clock: the store prunes by its own (here the system's) clock.
    let now = SystemClock.now().millis();
    let base = now.div_euclid(HOUR) * HOUR - 10 * HOUR;
    store
        .record_usage(&[
            record(key, 1, "app:a", Encrypt, 3, base + 60_000),
            record(key, 1, "app:b", Encrypt, 2, base + 59 * 60_000),
            record(key, 1, "app:a", Decrypt, 4, base + 30 * 60_000),
            record(key, 2, "app:a", Encrypt, 7, base + HOUR + 5 * 60_000),
            record(other, 1, "app:a", Encrypt, 100, base + 60_000),
        ])
        .await
        .unwrap();
    // A second flush into the same hour adds to it.
    store
        .record_usage(&[record(key, 1, "app:a", Encrypt, 1, base + 2 * 60_000)])
        .await
        .unwrap();

    let want = vec![
        bucket(1, Encrypt, base, 6),
        bucket(1, Decrypt, base, 4),
        bucket(2, Encrypt, base + HOUR, 7),
    ];
    assert_eq!(series(store, key, base, base + 2 * HOUR).await, want);
    assert_eq!(series(store, key, base - DAY, now + HOUR).await, want);
    // Hours that start in [since, until) only.
    assert_eq!(
        series(store, key, base + 1, base + 2 * HOUR).await,
        want[2..]
    );
    assert_eq!(series(store, key, base, base + HOUR).await, want[..2]);
    assert_eq!(series(store, key, base, base + HOUR + 1).await, want);
    assert_eq!(
        series(store, other, base, base + HOUR).await,
        vec![bucket(1, Encrypt, base, 100)]
    );

    // The totals per caller are unchanged by the series, and the series adds up to them.
    let mut totals: Vec<(u32, String, Operation, u64)> = store
        .usage(key)
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.version.get(), u.principal, u.operation, u.count))
        .collect();
    totals.sort_by_key(|t| (t.0, t.1.clone(), t.2.code()));
    assert_eq!(
        totals,
        vec![
            (1, "app:a".into(), Encrypt, 4),
            (1, "app:a".into(), Decrypt, 4),
            (1, "app:b".into(), Encrypt, 2),
            (2, "app:a".into(), Encrypt, 7),
        ]
    );
    let total: u64 = totals.iter().map(|t| t.3).sum();
    let bucketed: u64 = want.iter().map(|b| b.count).sum();
    assert_eq!(total, bucketed);

    // Older than the retention: into the totals, not into the series.
    let old = now - USAGE_SERIES_RETENTION_MS - 2 * DAY;
    let kept = now - USAGE_SERIES_RETENTION_MS + 2 * DAY;
    store
        .record_usage(&[
            record(key, 1, "app:a", Decrypt, 9, old),
            record(key, 1, "app:a", Decrypt, 5, kept),
        ])
        .await
        .unwrap();
    assert_eq!(
        series(store, key, old - DAY, kept + DAY).await,
        vec![bucket(1, Decrypt, kept.div_euclid(HOUR) * HOUR, 5)]
    );
    let decrypts: u64 = store
        .usage(key)
        .await
        .unwrap()
        .iter()
        .filter(|u| u.operation == Decrypt)
        .map(|u| u.count)
        .sum();
    assert_eq!(decrypts, 4 + 9 + 5);

    // Use of a key the store does not have is refused, and nothing of the batch is kept.
    let missing = store
        .record_usage(&[
            record(key, 1, "app:a", Encrypt, 50, base),
            record(KeyId::random(), 1, "app:a", Encrypt, 1, base),
        ])
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound("key"))),
        "{missing:?}"
    );
    assert_eq!(series(store, key, base, base + HOUR).await, want[..2]);
}

/// On a store whose clock the test moves: an hour inside the retention is kept, and the first
/// usage write after it has aged past the retention deletes it (any key's), in the same
/// transaction as the write's own counts.
pub async fn a_later_write_prunes_hours_past_the_retention(
    store: &dyn KeyStore,
    clock: &ManualClock,
) {
    let key = new_key(store, "aging").await;
    let other = new_key(store, "busy").await;
    let start = clock.now().millis().div_euclid(HOUR) * HOUR;
    store
        .record_usage(&[record(key, 1, "app:a", Operation::Encrypt, 3, start)])
        .await
        .unwrap();
    let early = vec![bucket(1, Operation::Encrypt, start, 3)];
    assert_eq!(series(store, key, start, start + HOUR).await, early);

    // Still within the retention: a write leaves it.
    clock.advance_millis(USAGE_SERIES_RETENTION_MS - HOUR);
    let later = clock.now().millis();
    store
        .record_usage(&[record(other, 1, "app:a", Operation::Encrypt, 1, later)])
        .await
        .unwrap();
    assert_eq!(series(store, key, start, start + HOUR).await, early);

    // The hour ended more than the retention ago: the next write (of another key) prunes it.
    clock.advance_millis(2 * HOUR);
    let latest = clock.now().millis();
    store
        .record_usage(&[record(other, 1, "app:a", Operation::Encrypt, 1, latest)])
        .await
        .unwrap();
    assert!(series(store, key, start, start + HOUR).await.is_empty());
    assert_eq!(
        series(store, other, later - HOUR, latest + HOUR)
            .await
            .len(),
        2
    );
    // The totals keep it.
    assert_eq!(store.usage(key).await.unwrap()[0].count, 3);
}
