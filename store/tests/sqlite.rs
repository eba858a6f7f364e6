//! The conformance suite against SQLite, each test on its own file.
// Test helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

mod conformance;

use std::sync::Arc;

use kms_engine::store::KeyStore;
use kms_store::SqliteStore;

async fn open() -> (tempfile::TempDir, Arc<dyn KeyStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("kms.db")).await.unwrap();
    (dir, Arc::new(store))
}

macro_rules! conformance {
    ($($name:ident => |$s:ident| $call:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let (_dir, $s) = open().await;
            $call.await;
        }
    )*};
}

conformance! {
    keys_are_created_once => |s| conformance::keys_are_created_once_with_an_active_first_version(s.as_ref());
    rotation => |s| conformance::rotation_moves_the_active_version_and_records_history(s.as_ref());
    concurrent_rotations => |s| conformance::concurrent_rotations_commit_exactly_one(s);
    apps_tokens_and_grants => |s| conformance::apps_tokens_and_grants(s.as_ref());
    change_feed => |s| conformance::the_change_feed_orders_every_commit(s);
    audit_chain => |s| conformance::the_audit_log_is_a_hash_chain(s.as_ref());
    master_key_once => |s| conformance::a_master_key_is_initialised_once(s.as_ref());
    master_key_rotation => |s| conformance::a_master_key_rotation_rewraps_every_version_once(s.as_ref());
    closed_is_unavailable => |s| conformance::a_closed_store_is_unavailable(s.as_ref());
    users_sessions_and_logins => |s| conformance::people::users_sessions_and_logins(s.as_ref());
    root_tokens_are_revoked => |s| conformance::people::root_tokens_are_revoked(s.as_ref());
    approvals => |s| conformance::people::approvals_take_one_vote_each_and_run_once(s);
    audit_seals => |s| conformance::people::audit_seals_are_kept(s.as_ref());
    app_tokens_rotate_and_revoke => |s| conformance::app_tokens_rotate_with_an_overlap_and_are_revoked(s.as_ref());
    key_policies => |s| conformance::key_policies_load_with_the_key(s.as_ref());
    app_certificates => |s| conformance::certificates::certificates_bind_once_and_are_revoked_with_the_app(s.as_ref());
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
