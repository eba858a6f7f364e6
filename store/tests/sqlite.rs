//! The conformance suite against SQLite, each test on its own file.
// Test helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

mod conformance;
mod fixtures;

use std::sync::Arc;

use kms_engine::store::KeyStore;
use kms_store::SqliteStore;

async fn open() -> (tempfile::TempDir, Arc<dyn KeyStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("kms.db")).await.unwrap();
    (dir, Arc::new(store))
}

/// What SQLite keeps at rest: every file in the directory (the WAL included).
fn at_rest(dir: &tempfile::TempDir) -> impl Fn() -> Vec<Vec<u8>> + '_ {
    move || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect()
    }
}

conformance::conformance_cases!(open, at_rest);

/// Hours of the usage series older than the retention are pruned by a later write (the store's
/// clock moved by the test).
#[tokio::test]
async fn usage_series_retention() {
    use kms_engine::clock::{ManualClock, SystemClock};
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(kms_engine::clock::Clock::now(
        &SystemClock,
    )));
    let store = SqliteStore::open_with_clock(&dir.path().join("kms.db"), clock.clone())
        .await
        .unwrap();
    conformance::usage::a_later_write_prunes_hours_past_the_retention(&store, &clock).await;
}

/// Everything committed is there after the file is closed and opened again.
#[tokio::test]
async fn committed_data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kms.db");
    let (id, revision) = {
        let store = SqliteStore::open(&path).await.unwrap();
        let id = conformance::create_and_rotate(&store).await;
        let revision = store.revision().await.unwrap();
        store.close().await;
        (id, revision)
    };
    let store = SqliteStore::open(&path).await.unwrap();
    let key = store.load_key(id).await.unwrap().unwrap();
    assert_eq!(key.active.get(), 2);
    assert!(revision >= 2);
    assert_eq!(store.revision().await.unwrap(), revision);
}

/// A database made before migration 0008 keeps its keys, versions and history through the
/// rebuild of `keys` (names unique among keys not deleted), and its foreign keys still hold.
#[tokio::test]
async fn keys_made_before_the_deletion_migration_survive_it() {
    use kms_engine::ids::{AppId, AppName, KeyName};
    use kms_engine::store::{Grant, StoreError};
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kms.db");
    // The schema as it was: every migration before 0008.
    let earlier = tempfile::tempdir().unwrap();
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    for entry in std::fs::read_dir(&all).unwrap() {
        let file = entry.unwrap().path();
        let name = file.file_name().unwrap().to_owned();
        if name.to_string_lossy().as_ref() < "0008" {
            std::fs::copy(&file, earlier.path().join(name)).unwrap();
        }
    }
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = SqlitePool::connect_with(options).await.unwrap();
    sqlx::migrate::Migrator::new(earlier.path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    let id = kms_engine::ids::KeyId::random();
    let key = id.as_bytes().to_vec();
    for (sql, bind_key) in [
        (
            "INSERT INTO master_keys (id, kcv, origin, state, created_at, updated_at) \
             VALUES ('mk-old', '000000', 1, 1, 0, 0)",
            false,
        ),
        (
            "INSERT INTO keys (id, name, algorithm, created_at, updated_at, exportable) \
             VALUES (?, 'legacy', 1, 0, 0, 1)",
            true,
        ),
        (
            "INSERT INTO key_versions (key_id, version, state, master_key_id, wrapped, \
             created_at, updated_at) VALUES (?, 1, 1, 'mk-old', x'0102', 0, 0)",
            true,
        ),
        (
            "INSERT INTO key_events (key_id, version, action, to_state, actor, at) \
             VALUES (?, 1, 'create', 1, 'root:old', 0)",
            true,
        ),
    ] {
        let query = sqlx::query(sql);
        let query = if bind_key {
            query.bind(key.clone())
        } else {
            query
        };
        query.execute(&pool).await.unwrap();
    }
    pool.close().await;

    let store = SqliteStore::open(&path).await.unwrap();
    let name = KeyName::new("legacy").unwrap();
    assert_eq!(store.key_id(&name).await.unwrap(), Some(id));
    let loaded = store.load_key(id).await.unwrap().unwrap();
    assert_eq!(loaded.name, name);
    assert!(loaded.settings.exportable);
    assert!(!loaded.settings.deletion_allowed);
    assert_eq!(loaded.versions()[0].wrapped.as_ref().unwrap().blob, [1, 2]);
    let history = store.key_history(id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].actor, "root:old");
    // Foreign keys are enforced again after the rebuild: a grant to no app is refused.
    let grant = Grant {
        key: id,
        app: AppId::random(),
        app_name: AppName::new("ghost").unwrap(),
        operations: [kms_engine::algorithm::Operation::Encrypt]
            .into_iter()
            .collect(),
        at: kms_engine::clock::Timestamp::from_millis(1),
        actor: "root:test".into(),
    };
    let audit = kms_engine::audit::AuditEvent {
        at: kms_engine::clock::Timestamp::from_millis(1),
        actor: "root:test".into(),
        action: "grant".into(),
        target: None,
        outcome: kms_engine::audit::Outcome::Success,
        code: None,
        remote: None,
        detail: None,
    };
    assert!(matches!(
        store.set_grant(&grant, &audit).await,
        Err(StoreError::NotFound(_))
    ));
}

/// A snapshot (what a backup encrypts) is a database of its own: opened alone, it has the source's
/// keys, revision and audit head; it never overwrites a file.
#[tokio::test]
async fn a_snapshot_opens_as_the_store_it_was_taken_from() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("kms.db")).await.unwrap();
    let id = conformance::create_and_rotate(&store).await;
    let revision = store.revision().await.unwrap();
    let head = store.audit_head().await.unwrap();
    let copy = dir.path().join("snapshot.db");
    store.snapshot(&copy).await.unwrap();
    assert!(store.snapshot(&copy).await.is_err(), "overwrote a snapshot");
    store.close().await;
    let snapshot = SqliteStore::open(&copy).await.unwrap();
    let key = snapshot.load_key(id).await.unwrap().unwrap();
    assert_eq!(key.active.get(), 2);
    assert_eq!(snapshot.revision().await.unwrap(), revision);
    assert_eq!(snapshot.audit_head().await.unwrap(), head);
}
