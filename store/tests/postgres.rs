//! The conformance suite against PostgreSQL, each test on a database of its own, created through
//! `KMS_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`) and dropped afterwards.
// Test helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

mod conformance;
mod fixtures;
mod pg;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kms_engine::clock::SystemClock;
use kms_engine::store::{KeyStore, StoreError};
use kms_store::PostgresStore;
use pg::TestDb;

async fn open() -> (TestDb, Arc<dyn KeyStore>) {
    let db = TestDb::create().await;
    let store = db.open().await;
    (db, Arc::new(store))
}

/// What the database holds that could carry key material: every non-NULL value of every BYTEA
/// column of every table, as stored. (Unlike SQLite's files this is the logical content: old row
/// versions not vacuumed yet, and the WAL, are not searched; docs/postgres.md.)
fn at_rest(db: &TestDb) -> impl Fn() -> Vec<Vec<u8>> + '_ {
    move || {
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(db.bytea_values())
        })
    }
}

conformance::conformance_cases!(open, at_rest);

/// Hours of the usage series older than the retention are pruned by a later write (the store's
/// clock moved by the test).
#[tokio::test]
async fn usage_series_retention() {
    use kms_engine::clock::{Clock, ManualClock};
    let db = TestDb::create().await;
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let store = PostgresStore::open_with(db.options(), clock.clone())
        .await
        .unwrap();
    conformance::usage::a_later_write_prunes_hours_past_the_retention(&store, &clock).await;
    store.close().await;
}

/// Everything committed is there after the store is closed and opened again.
#[tokio::test]
async fn committed_data_survives_reopening() {
    let db = TestDb::create().await;
    let (id, revision) = {
        let store = db.open().await;
        let id = conformance::create_and_rotate(&store).await;
        let revision = store.revision().await.unwrap();
        store.close().await;
        (id, revision)
    };
    let store = db.open().await;
    let key = store.load_key(id).await.unwrap().unwrap();
    assert_eq!(key.active.get(), 2);
    assert!(revision >= 2);
    assert_eq!(store.revision().await.unwrap(), revision);
    store.close().await;
}

/// Two stores on one database (two KMS processes): a commit through one wakes a waiter on the
/// other through the notification (the waiter's poll is an hour away), and both see the same
/// change feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_by_another_process_wakes_a_waiter() {
    let db = TestDb::create().await;
    let writer = db.open().await;
    let reader = Arc::new(
        db.open()
            .await
            .with_poll_interval(Duration::from_secs(3600)),
    );
    // The master key first, so that the waited-for commit is exactly the key's.
    conformance::create_and_rotate(&writer).await;
    let start = reader.revision().await.unwrap();
    let waiter = {
        let reader = Arc::clone(&reader);
        tokio::spawn(async move {
            let t = Instant::now();
            let r = reader
                .wait_for_change(start, Duration::from_secs(60))
                .await
                .unwrap();
            (r, t.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let committed = conformance::create_named_key(&writer, "elsewhere").await;
    let (r, waited) = waiter.await.unwrap();
    assert_eq!(r, committed);
    assert!(waited < Duration::from_secs(30), "waited {waited:?}");
    assert_eq!(
        reader.changes_since(start, 10).await.unwrap(),
        writer.changes_since(start, 10).await.unwrap()
    );
    writer.close().await;
    reader.close().await;
}

/// A commit that sends no notification (here a bare UPDATE of the revision, as if the listener had
/// missed it) still wakes a waiter, at its next poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_notification_is_made_up_by_the_poll() {
    use sqlx::Connection;
    let db = TestDb::create().await;
    let reader = db
        .open()
        .await
        .with_poll_interval(Duration::from_millis(100));
    let start = reader.revision().await.unwrap();
    let bump = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut conn = sqlx::postgres::PgConnection::connect_with(&db.options())
            .await
            .unwrap();
        sqlx::query("UPDATE store_meta SET revision = revision + 1 WHERE id = 1")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    };
    let (r, ()) = tokio::join!(reader.wait_for_change(start, Duration::from_secs(60)), bump);
    assert_eq!(r.unwrap(), start + 1);
    reader.close().await;
}

/// Writers in two processes interleave without gaps or duplicates in the revisions, and the
/// audit chain stays one chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_feed_and_one_audit_chain() {
    let db = TestDb::create().await;
    let a: Arc<dyn KeyStore> = Arc::new(db.open().await);
    let b: Arc<dyn KeyStore> = Arc::new(db.open().await);
    conformance::create_and_rotate(a.as_ref()).await;
    let start = a.revision().await.unwrap();
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let s = Arc::clone(if i % 2 == 0 { &a } else { &b });
            tokio::spawn(async move {
                conformance::create_named_key(s.as_ref(), &format!("k{i}")).await
            })
        })
        .collect();
    let mut committed = Vec::new();
    for t in tasks {
        committed.push(t.await.unwrap());
    }
    committed.sort_unstable();
    let feed: Vec<_> = b
        .changes_since(start, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    assert_eq!(feed, committed);
    assert_eq!(feed, ((start + 1)..=(start + 12)).collect::<Vec<_>>());
    conformance::assert_audit_chain(b.as_ref()).await;
}

/// Two store processes on one database see one node's contacts alike, whichever the node
/// reached last; a contact written late by the other process does not hide a newer one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_agree_on_node_contacts() {
    use conformance::nodes::contact;
    let db = TestDb::create().await;
    let a: Arc<dyn KeyStore> = Arc::new(db.open().await);
    let b: Arc<dyn KeyStore> = Arc::new(db.open().await);
    a.record_node_contact(&contact("n1", 9_000, "ready", 4))
        .await
        .unwrap();
    b.record_node_contact(&contact("n1", 8_000, "degraded", 3))
        .await
        .unwrap();
    b.record_node_contact(&contact("n2", 1_000, "ready", 4))
        .await
        .unwrap();
    let expected = vec![
        contact("n1", 9_000, "ready", 4),
        contact("n2", 1_000, "ready", 4),
    ];
    assert_eq!(a.node_contacts().await.unwrap(), expected);
    assert_eq!(b.node_contacts().await.unwrap(), expected);
}

/// `kms backup` copies a SQLite file; a PostgreSQL store refuses, naming PostgreSQL's tools.
#[tokio::test]
async fn a_snapshot_is_refused_with_the_reason() {
    let (_db, store) = open().await;
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("snapshot.db");
    match store.snapshot(&to).await {
        Err(e @ StoreError::Backend(_)) => assert!(e.to_string().contains("pg_basebackup"), "{e}"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(!to.exists());
}

/// A server that cannot be reached is `Unavailable`, not a query error.
#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    // A port nothing listens on (the discard port).
    let r = PostgresStore::open(
        "postgres://postgres@127.0.0.1:9/none?connect_timeout=2",
        Arc::new(SystemClock),
    )
    .await;
    assert!(
        matches!(r, Err(StoreError::Unavailable(_))),
        "{:?}",
        r.err()
    );
}
