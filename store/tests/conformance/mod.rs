//! The store conformance suite: every backend must pass these same functions. The list of cases
//! is written once, in [`conformance_cases!`], which sqlite.rs and postgres.rs instantiate with
//! their own constructor: a case added here runs against every backend.
// Over 600 lines: the case list and the cases without fixtures of their own are one contract a
// backend author reads in one place; areas with fixtures have their own files (certificates,
// people, zones, deletion).

pub mod certificates;
pub mod deletion;
pub mod nodes;
pub mod people;
pub mod restore;
pub mod transit;
pub mod usage;
pub mod zones;

/// Defines one `#[tokio::test]` per conformance case. `$open` is an async fn returning
/// `(guard, Arc<dyn KeyStore>)` on a fresh, empty store (the guard removes it when dropped);
/// `$at_rest` takes `&guard` and returns a closure listing the bytes the backend keeps at rest.
macro_rules! conformance_cases {
    ($open:ident, $at_rest:ident) => {
        $crate::conformance::conformance_cases!(@each $open;
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
            failed_logins_lock_at_exactly_the_limit => |s| conformance::people::failed_logins_lock_at_exactly_the_limit(s);
            enrolments_are_used_once => |s| conformance::people::enrolments_are_used_once(s.as_ref());
            root_tokens_are_revoked => |s| conformance::people::root_tokens_are_revoked(s.as_ref());
            approvals => |s| conformance::people::approvals_take_one_vote_each_and_run_once(s);
            audit_seals => |s| conformance::people::audit_seals_are_kept(s.as_ref());
            app_tokens_rotate_and_revoke => |s| conformance::app_tokens_rotate_with_an_overlap_and_are_revoked(s.as_ref());
            key_policies => |s| conformance::key_policies_load_with_the_key(s.as_ref());
            app_certificates => |s| conformance::certificates::certificates_bind_once_and_are_revoked_with_the_app(s.as_ref());
            zones => |s| conformance::zones::zones_are_registered_once(s.as_ref());
            node_contacts => |s| conformance::nodes::node_contacts_keep_the_latest(s.as_ref());
            transit_settings => |s| conformance::transit::transit_settings_round_trip_and_change(s.as_ref());
            transit_restore => |s| conformance::restore::a_backed_up_key_is_restored_under_its_id(s.as_ref());
            usage_series => |s| conformance::usage::the_usage_series_adds_up_to_the_totals(s.as_ref());
        );

        /// Deleting a key, with what the backend keeps at rest.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn key_deletion() {
            let (guard, store) = $open().await;
            let at_rest = $at_rest(&guard);
            conformance::deletion::a_deleted_key_is_erased_its_name_freed_and_its_history_kept(
                store.as_ref(),
                &at_rest,
            )
            .await;
        }
    };
    (@each $open:ident; $($name:ident => |$s:ident| $call:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let (_guard, $s) = $open().await;
            $call.await;
        }
    )*};
}
pub(crate) use conformance_cases;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kms_engine::algorithm::{Algorithm, Operation};
use kms_engine::audit::{self, AuditEvent, Outcome};
use kms_engine::clock::Timestamp;
use kms_engine::directory::Principal;
use kms_engine::ids::{AppId, AppName, KeyId, KeyName, KeyVersion, MasterKeyId};
use kms_engine::store::{
    AppRecord, AuditQuery, Change, Grant, KeyStore, NewKey, Rotation, StoreError,
};
use kms_engine::token::TokenHash;
use kms_engine::version::VersionState;
use kms_engine::wrap::WrappedKey;

use crate::fixtures::{at, event, master_key};

fn wrapped(tag: u8) -> WrappedKey {
    WrappedKey {
        master_key: MasterKeyId::new("mk-test").unwrap(),
        blob: vec![tag; 60],
    }
}

fn v(n: u32) -> KeyVersion {
    KeyVersion::new(n).unwrap()
}

/// Records "mk-test" as the active master key unless one is active already.
async fn ensure_master_key(store: &dyn KeyStore) {
    use kms_engine::master_key::MasterKeyState;
    let keys = store.master_keys().await.unwrap();
    if !keys.iter().any(|k| k.state == MasterKeyState::Active) {
        crate::fixtures::initialize(store, "mk-test").await;
    }
}

async fn new_key(store: &dyn KeyStore, name: &str) -> KeyId {
    ensure_master_key(store).await;
    let key = NewKey {
        id: KeyId::random(),
        name: KeyName::new(name).unwrap(),
        algorithm: Algorithm::Aes256Gcm,
        settings: Default::default(),
        wrapped: wrapped(1),
        at: at(1),
        actor: "root:test".into(),
    };
    store.create_key(&key, &event("create_key")).await.unwrap();
    key.id
}

fn rotation(key: KeyId, version: u32) -> Rotation {
    Rotation {
        key,
        new_version: v(version),
        wrapped: wrapped(u8::try_from(version).unwrap()),
        at: at(i64::from(version)),
        actor: "root:test".into(),
        reason: format!("rotate to {version}"),
    }
}

pub async fn keys_are_created_once_with_an_active_first_version(store: &dyn KeyStore) {
    let id = new_key(store, "cards").await;
    let key = store.load_key(id).await.unwrap().expect("key is there");
    assert_eq!(key.name.as_str(), "cards");
    assert_eq!(key.active, v(1));
    assert_eq!(key.versions().len(), 1);
    assert_eq!(key.versions()[0].state, VersionState::Active);
    assert_eq!(key.versions()[0].wrapped, Some(wrapped(1)));
    assert_eq!(
        store.key_id(&KeyName::new("cards").unwrap()).await.unwrap(),
        Some(id)
    );
    assert_eq!(
        store.key_id(&KeyName::new("nope").unwrap()).await.unwrap(),
        None
    );
    let again = NewKey {
        id: KeyId::random(),
        name: KeyName::new("cards").unwrap(),
        algorithm: Algorithm::Aes256Gcm,
        settings: Default::default(),
        wrapped: wrapped(2),
        at: at(2),
        actor: "root:test".into(),
    };
    assert!(matches!(
        store.create_key(&again, &event("create_key")).await,
        Err(StoreError::AlreadyExists("key"))
    ));
    assert!(store.load_key(again.id).await.unwrap().is_none());
    assert_eq!(store.load_keys().await.unwrap().len(), 1);
}

pub async fn rotation_moves_the_active_version_and_records_history(store: &dyn KeyStore) {
    let id = new_key(store, "pan").await;
    store
        .rotate_key(&rotation(id, 2), &event("rotate_key"))
        .await
        .unwrap();
    let key = store.load_key(id).await.unwrap().unwrap();
    assert_eq!(key.active, v(2));
    assert_eq!(key.version(v(1)).unwrap().state, VersionState::DecryptOnly);
    assert_eq!(key.version(v(2)).unwrap().state, VersionState::Active);
    assert_eq!(key.version(v(2)).unwrap().wrapped, Some(wrapped(2)));

    // A rotation computed against a stale latest version loses.
    assert!(matches!(
        store
            .rotate_key(&rotation(id, 2), &event("rotate_key"))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .rotate_key(&rotation(id, 4), &event("rotate_key"))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .rotate_key(&rotation(KeyId::random(), 2), &event("rotate_key"))
            .await,
        Err(StoreError::NotFound(_))
    ));

    let history = store.key_history(id).await.unwrap();
    let actions: Vec<_> = history
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.version.map(KeyVersion::get),
                e.to_state,
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("create", Some(1), Some(VersionState::Active)),
            ("rotate", Some(1), Some(VersionState::DecryptOnly)),
            ("rotate", Some(2), Some(VersionState::Active)),
        ]
    );
    assert_eq!(history[2].reason.as_deref(), Some("rotate to 2"));
    assert_eq!(history[2].actor, "root:test");
}

pub async fn concurrent_rotations_commit_exactly_one(store: Arc<dyn KeyStore>) {
    let id = new_key(store.as_ref(), "race").await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = Arc::clone(&store);
            tokio::spawn(async move { s.rotate_key(&rotation(id, 2), &event("rotate_key")).await })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(won, 1);
    let key = store.load_key(id).await.unwrap().unwrap();
    assert_eq!(key.versions().len(), 2);
    let active = key
        .versions()
        .iter()
        .filter(|v| v.state == VersionState::Active)
        .count();
    assert_eq!(active, 1);
}

pub async fn apps_tokens_and_grants(store: &dyn KeyStore) {
    let key = new_key(store, "k1").await;
    let baseline = store.load_credentials().await.unwrap().len();
    let app = AppRecord {
        id: AppId::random(),
        name: AppName::new("billing").unwrap(),
        created_at: at(3),
    };
    let token = TokenHash::of("kms_app_token");
    store
        .create_app(&app, &token, &event("create_app"))
        .await
        .unwrap();
    assert_eq!(store.find_app(&app.name).await.unwrap(), Some(app.clone()));
    assert!(matches!(
        store
            .create_app(&app, &TokenHash::of("other"), &event("create_app"))
            .await,
        Err(StoreError::AlreadyExists("app"))
    ));

    let root1 = TokenHash::of("root-1");
    store
        .put_root_token("dev", &root1, &event("root_token"))
        .await
        .unwrap();
    // Same token again: fine. Another token under the same label replaces it.
    store
        .put_root_token("dev", &root1, &event("root_token"))
        .await
        .unwrap();
    let creds = store.load_credentials().await.unwrap();
    assert_eq!(creds.len(), baseline + 2);
    let root2 = TokenHash::of("root-2");
    store
        .put_root_token("dev", &root2, &event("root_token"))
        .await
        .unwrap();
    let creds = store.load_credentials().await.unwrap();
    assert_eq!(creds.len(), baseline + 2);
    assert!(creds.iter().any(|c| c.hash == root2));
    assert!(!creds.iter().any(|c| c.hash == root1));
    let app_cred = creds.iter().find(|c| c.hash == token).unwrap();
    assert_eq!(
        app_cred.principal,
        Principal::App {
            id: app.id,
            name: app.name.clone()
        }
    );

    let grant = |ops: &[Operation]| Grant {
        key,
        app: app.id,
        app_name: app.name.clone(),
        operations: ops.iter().copied().collect(),
        at: at(4),
        actor: "root:test".into(),
    };
    store
        .set_grant(
            &grant(&[Operation::Encrypt, Operation::Decrypt]),
            &event("grant"),
        )
        .await
        .unwrap();
    let entry = store.load_key(key).await.unwrap().unwrap();
    assert!(entry.grants_app(&app.id, Operation::Encrypt));
    assert!(entry.grants_app(&app.id, Operation::Decrypt));
    // A grant replaces the previous one.
    store
        .set_grant(&grant(&[Operation::Decrypt]), &event("grant"))
        .await
        .unwrap();
    let entry = store.load_key(key).await.unwrap().unwrap();
    assert!(!entry.grants_app(&app.id, Operation::Encrypt));
    assert!(entry.grants_app(&app.id, Operation::Decrypt));
    let mut unknown = grant(&[Operation::Decrypt]);
    unknown.app = AppId::random();
    assert!(matches!(
        store.set_grant(&unknown, &event("grant")).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn the_change_feed_orders_every_commit(store: Arc<dyn KeyStore>) {
    ensure_master_key(store.as_ref()).await;
    let start = store.revision().await.unwrap();
    // Nothing happens: the wait runs to its timeout and reports no progress.
    let t = Instant::now();
    let r = store
        .wait_for_change(start, Duration::from_millis(200))
        .await
        .unwrap();
    assert_eq!(r, start);
    assert!(t.elapsed() >= Duration::from_millis(150));

    // A commit wakes a waiter well before its timeout.
    let waiter = {
        let s = Arc::clone(&store);
        tokio::spawn(async move {
            let t = Instant::now();
            let r = s
                .wait_for_change(start, Duration::from_secs(30))
                .await
                .unwrap();
            (r, t.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let id = new_key(store.as_ref(), "fed").await;
    let (r, waited) = waiter.await.unwrap();
    assert!(r > start);
    assert!(waited < Duration::from_secs(10), "waited {waited:?}");

    store
        .rotate_key(&rotation(id, 2), &event("rotate_key"))
        .await
        .unwrap();
    let app = AppRecord {
        id: AppId::random(),
        name: AppName::new("feed-app").unwrap(),
        created_at: at(5),
    };
    store
        .create_app(&app, &TokenHash::of("t"), &event("create_app"))
        .await
        .unwrap();
    let changes = store.changes_since(start, 100).await.unwrap();
    let kinds: Vec<_> = changes.iter().map(|(_, c)| *c).collect();
    assert_eq!(
        kinds,
        vec![Change::Key(id), Change::Key(id), Change::Credentials]
    );
    assert!(changes.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(store.revision().await.unwrap(), changes[2].0);
    assert_eq!(store.changes_since(start, 1).await.unwrap().len(), 1);
    assert!(
        store
            .changes_since(changes[2].0, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn the_audit_log_is_a_hash_chain(store: &dyn KeyStore) {
    ensure_master_key(store).await;
    let before = store.audit_log(&AuditQuery::default()).await.unwrap().len();
    new_key(store, "audited").await;
    let denied = AuditEvent {
        actor: "app:billing".into(),
        action: "decrypt".into(),
        target: Some("key:audited".into()),
        outcome: Outcome::Denied,
        code: Some("operation_not_granted".into()),
        remote: Some("127.0.0.1".into()),
        ..event("decrypt")
    };
    store
        .append_audit(&[denied.clone(), denied.clone()])
        .await
        .unwrap();
    let log = store.audit_log(&AuditQuery::default()).await.unwrap();
    assert_eq!(log.len(), before + 3);
    let mut prev = audit::GENESIS;
    for (i, r) in log.iter().enumerate() {
        assert_eq!(r.seq, i as u64 + 1);
        assert_eq!(r.prev_hash, prev);
        assert_eq!(r.hash, audit::chain_hash(&prev, r.seq, &r.event));
        prev = r.hash;
    }
    assert_eq!(log[before + 1].event, denied);
    let only_denied = store
        .audit_log(&AuditQuery {
            actor: Some("app:billing".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(only_denied.len(), 2);
    let after = store
        .audit_log(&AuditQuery {
            after_seq: Some(log[log.len() - 2].seq),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
}

/// Creates a key called `name` (and the master key, if none is active); returns the revision of
/// the key's creation. (Used by the multi-process tests of postgres.rs.)
#[allow(dead_code)]
pub async fn create_named_key(store: &dyn KeyStore, name: &str) -> kms_engine::store::Revision {
    ensure_master_key(store).await;
    let key = NewKey {
        id: KeyId::random(),
        name: KeyName::new(name).unwrap(),
        algorithm: Algorithm::Aes256Gcm,
        settings: Default::default(),
        wrapped: wrapped(1),
        at: at(1),
        actor: "root:test".into(),
    };
    store.create_key(&key, &event("create_key")).await.unwrap()
}

/// The whole audit log is one chain from the genesis value, numbered without gaps, ending at the
/// head. (Used by the multi-process tests of postgres.rs.)
#[allow(dead_code)]
pub async fn assert_audit_chain(store: &dyn KeyStore) {
    let log = store
        .audit_log(&AuditQuery {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut prev = audit::GENESIS;
    for (i, r) in log.iter().enumerate() {
        assert_eq!(r.seq, i as u64 + 1);
        assert_eq!(r.prev_hash, prev);
        assert_eq!(r.hash, audit::chain_hash(&prev, r.seq, &r.event));
        prev = r.hash;
    }
    assert_eq!(store.audit_head().await.unwrap(), (log.len() as u64, prev));
}

/// Creates a key and rotates it once; returns its id.
pub async fn create_and_rotate(store: &dyn KeyStore) -> KeyId {
    let id = new_key(store, "durable").await;
    store
        .rotate_key(&rotation(id, 2), &event("rotate_key"))
        .await
        .unwrap();
    id
}

pub async fn a_master_key_is_initialised_once(store: &dyn KeyStore) {
    use kms_engine::master_key::MasterKeyState;
    let root = TokenHash::of("initial-root");
    store
        .initialize_master_key(&master_key("mk-test", 0), "initial", &root, &event("init"))
        .await
        .unwrap();
    let keys = store.master_keys().await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].state, MasterKeyState::Active);
    assert!(
        store
            .load_credentials()
            .await
            .unwrap()
            .iter()
            .any(|c| c.hash == root)
    );
    assert!(matches!(
        store
            .initialize_master_key(&master_key("mk-other", 1), "initial", &root, &event("init"))
            .await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(store.master_keys().await.unwrap().len(), 1);
}

pub async fn a_master_key_rotation_rewraps_every_version_once(store: &dyn KeyStore) {
    use kms_engine::master_key::{MasterKeyState, RotationState};
    let a = new_key(store, "a").await;
    let b = new_key(store, "b").await;
    store
        .rotate_key(&rotation(b, 2), &event("rotate_key"))
        .await
        .unwrap();
    // Three versions under mk-test: a/1, b/1, b/2.
    let job = store
        .begin_master_key_rotation(&master_key("mk-next", 10), &event("rotate_master_key"))
        .await
        .unwrap();
    assert_eq!(job.state, RotationState::Running);
    assert_eq!(job.from.as_str(), "mk-test");
    let states: Vec<_> = store
        .master_keys()
        .await
        .unwrap()
        .iter()
        .map(|k| (k.id.as_str().to_owned(), k.state))
        .collect();
    assert!(states.contains(&("mk-test".into(), MasterKeyState::Retiring)));
    assert!(states.contains(&("mk-next".into(), MasterKeyState::Active)));
    // Only one rotation at a time.
    assert!(matches!(
        store
            .begin_master_key_rotation(&master_key("mk-third", 11), &event("rotate_master_key"))
            .await,
        Err(StoreError::Conflict(_))
    ));

    let old = MasterKeyId::new("mk-test").unwrap();
    let rewrap = |batch: Vec<(kms_engine::wrap::WrapContext, WrappedKey)>| {
        batch
            .into_iter()
            .map(|(ctx, w)| {
                let mut blob = w.blob;
                blob.reverse();
                (
                    ctx,
                    WrappedKey {
                        master_key: MasterKeyId::new("mk-next").unwrap(),
                        blob,
                    },
                )
            })
            .collect::<Vec<_>>()
    };
    let first = rewrap(store.versions_wrapped_under(&old, 2).await.unwrap());
    assert_eq!(first.len(), 2);
    let before = store.revision().await.unwrap();
    store.store_rewrapped(job.id, &first).await.unwrap();
    assert!(
        store.revision().await.unwrap() > before,
        "rewrapped keys go out on the change feed"
    );
    // A batch replayed after a crash changes nothing.
    store.store_rewrapped(job.id, &first).await.unwrap();
    assert_eq!(store.rotation(job.id).await.unwrap().unwrap().rewrapped, 2);
    assert!(matches!(
        store.finish_rewrap(job.id).await,
        Err(StoreError::Conflict(_))
    ));
    // Material under the wrong key is refused.
    let wrong: Vec<_> = store
        .versions_wrapped_under(&old, 10)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert!(matches!(
        store.store_rewrapped(job.id, &wrong).await,
        Err(StoreError::Conflict(_))
    ));
    let rest = rewrap(store.versions_wrapped_under(&old, 10).await.unwrap());
    assert_eq!(rest.len(), 1);
    store.store_rewrapped(job.id, &rest).await.unwrap();
    assert!(
        store
            .versions_wrapped_under(&old, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Completing before the rewrap is marked finished is refused.
    assert!(matches!(
        store
            .complete_rotation(job.id, &event("rotate_master_key"))
            .await,
        Err(StoreError::Conflict(_))
    ));
    store.finish_rewrap(job.id).await.unwrap();
    assert_eq!(
        store.rotation(job.id).await.unwrap().unwrap().state,
        RotationState::Rewrapped
    );
    store
        .complete_rotation(job.id, &event("rotate_master_key"))
        .await
        .unwrap();
    assert!(store.unfinished_rotations().await.unwrap().is_empty());
    let mk_test = store
        .master_keys()
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.id == old)
        .unwrap();
    assert_eq!(mk_test.state, MasterKeyState::Destroyed);
    for id in [a, b] {
        let key = store.load_key(id).await.unwrap().unwrap();
        for v in key.versions() {
            let w = v.wrapped.as_ref().unwrap();
            assert_eq!(w.master_key.as_str(), "mk-next");
            let mut original = w.blob.clone();
            original.reverse();
            assert_eq!(original, vec![u8::try_from(v.version.get()).unwrap(); 60]);
        }
    }
    // New material under the retired key is refused: it would never unwrap again.
    let mut late = rotation(a, 2);
    late.wrapped = wrapped(9);
    assert!(matches!(
        store.rotate_key(&late, &event("rotate_key")).await,
        Err(StoreError::Conflict(_))
    ));
    late.wrapped.master_key = MasterKeyId::new("mk-next").unwrap();
    store.rotate_key(&late, &event("rotate_key")).await.unwrap();

    // The active master key cannot be destroyed.
    assert!(matches!(
        store
            .destroy_master_key(&MasterKeyId::new("mk-next").unwrap(), &event("destroy"))
            .await,
        Err(StoreError::Conflict(_))
    ));
}

/// After `close`, the change feed and reads fail as `Unavailable` (what key sync treats as an
/// outage: keep serving, report degraded), not as a query error.
pub async fn a_closed_store_is_unavailable(store: &dyn KeyStore) {
    let revision = store.revision().await.unwrap();
    store.close().await;
    assert!(matches!(
        store.revision().await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        store
            .wait_for_change(revision, std::time::Duration::from_millis(10))
            .await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        store.load_keys().await,
        Err(StoreError::Unavailable(_))
    ));
}

/// Token rotation with an overlap, expiry carried to the credentials, and revocation. The store
/// stamps nothing itself here: expiries are relative to the wall clock, as the store's own clock
/// filters expired tokens out of the credentials.
pub async fn app_tokens_rotate_with_an_overlap_and_are_revoked(store: &dyn KeyStore) {
    use kms_engine::clock::{Clock, SystemClock};
    use kms_engine::store::TokenRotation;

    let now = SystemClock.now();
    let later = |ms: i64| Timestamp::from_millis(now.millis() + ms);
    let app = AppRecord {
        id: AppId::random(),
        name: AppName::new("payroll").unwrap(),
        created_at: now,
    };
    let first = TokenHash::of("kms_first");
    store
        .create_app(&app, &first, &event("create_app"))
        .await
        .unwrap();
    let live = |creds: &[kms_engine::directory::Credential], hash: &TokenHash| {
        creds.iter().find(|c| c.hash == *hash).map(|c| c.expires_at)
    };

    // Rotate with an hour's overlap: both tokens load, the first with its expiry.
    let second = TokenHash::of("kms_second");
    let before = store.revision().await.unwrap();
    let r = store
        .rotate_app_token(
            &TokenRotation {
                app: app.id,
                token: second,
                at: later(1),
                old_expire_at: later(3_600_000),
            },
            &event("rotate_app_token"),
        )
        .await
        .unwrap();
    assert!(r > before);
    assert_eq!(
        store.changes_since(before, 10).await.unwrap(),
        vec![(r, Change::Credentials)]
    );
    let creds = store.load_credentials().await.unwrap();
    assert_eq!(live(&creds, &first), Some(Some(later(3_600_000))));
    assert_eq!(live(&creds, &second), Some(None));

    // A second rotation never extends an earlier expiry, and 0 overlap ends the others now.
    let third = TokenHash::of("kms_third");
    store
        .rotate_app_token(
            &TokenRotation {
                app: app.id,
                token: third,
                at: later(2),
                old_expire_at: later(-1),
            },
            &event("rotate_app_token"),
        )
        .await
        .unwrap();
    let creds = store.load_credentials().await.unwrap();
    assert_eq!(live(&creds, &first), None);
    assert_eq!(live(&creds, &second), None);
    assert_eq!(live(&creds, &third), Some(None));

    let listed = store.list_apps(Some(&app.name)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].app, app);
    let ids: Vec<_> = listed[0].tokens.iter().map(|t| t.id.clone()).collect();
    assert_eq!(ids, vec![first.id(), second.id(), third.id()]);
    assert_eq!(listed[0].tokens[0].expires_at, Some(later(-1)));
    assert_eq!(listed[0].tokens[2].expires_at, None);
    assert!(listed[0].tokens.iter().all(|t| t.revoked_at.is_none()));

    // Revocation ends every live token at once; expired ones stay merely expired.
    let (_, revoked) = store
        .revoke_app_tokens(app.id, later(3), &event("revoke_app"))
        .await
        .unwrap();
    assert_eq!(revoked, 1);
    let creds = store.load_credentials().await.unwrap();
    assert!(creds.iter().all(|c| !matches!(
        &c.principal,
        Principal::App { id, .. } if *id == app.id
    )));
    let listed = store.list_apps(None).await.unwrap();
    let tokens = &listed.iter().find(|a| a.app.id == app.id).unwrap().tokens;
    assert_eq!(tokens[2].revoked_at, Some(later(3)));
    assert_eq!(tokens[0].revoked_at, None);

    // A revoked app can be given a new token.
    let fourth = TokenHash::of("kms_fourth");
    store
        .rotate_app_token(
            &TokenRotation {
                app: app.id,
                token: fourth,
                at: later(4),
                old_expire_at: later(4),
            },
            &event("rotate_app_token"),
        )
        .await
        .unwrap();
    assert_eq!(
        live(&store.load_credentials().await.unwrap(), &fourth),
        Some(None)
    );

    // Unknown apps are not found; an unknown name lists nothing.
    let ghost = AppId::random();
    assert!(matches!(
        store
            .revoke_app_tokens(ghost, later(5), &event("revoke_app"))
            .await,
        Err(StoreError::NotFound("app"))
    ));
    assert!(matches!(
        store
            .rotate_app_token(
                &TokenRotation {
                    app: ghost,
                    token: TokenHash::of("kms_ghost"),
                    at: later(5),
                    old_expire_at: later(5),
                },
                &event("rotate_app_token"),
            )
            .await,
        Err(StoreError::NotFound("app"))
    ));
    assert!(
        store
            .list_apps(Some(&AppName::new("nobody").unwrap()))
            .await
            .unwrap()
            .is_empty()
    );
}

/// A key's usage policy is stored with it, loads with the key (limiters for its granted apps),
/// is recorded in its history, and can be removed.
pub async fn key_policies_load_with_the_key(store: &dyn KeyStore) {
    use kms_engine::policy::{PolicySpec, RateSpec, UsagePolicy, WindowSpec};
    use kms_engine::store::PolicyChange;

    let key = new_key(store, "pii").await;
    assert!(store.load_key(key).await.unwrap().unwrap().policy.is_none());
    let spec = PolicySpec {
        allowed_cidrs: vec!["10.0.0.0/8".into()],
        time_windows: vec![WindowSpec {
            days: vec!["mon".into(), "fri".into()],
            start: "08:00".into(),
            end: "18:00".into(),
        }],
        rate_limit: Some(RateSpec {
            per_second: 50,
            burst: Some(100),
        }),
    };
    let policy = UsagePolicy::parse(&spec).unwrap();
    let change = |policy: Option<UsagePolicy>| PolicyChange {
        key,
        policy,
        at: at(10),
        actor: "root:test".into(),
    };
    let before = store.revision().await.unwrap();
    let r = store
        .set_key_policy(&change(Some(policy.clone())), &event("set_key_policy"))
        .await
        .unwrap();
    assert_eq!(
        store.changes_since(before, 10).await.unwrap(),
        vec![(r, Change::Key(key))]
    );
    let loaded = store.load_key(key).await.unwrap().unwrap();
    assert_eq!(loaded.policy.as_ref().unwrap().policy, policy);
    let all = store.load_keys().await.unwrap();
    let listed = all.iter().find(|k| k.id == key).unwrap();
    assert_eq!(listed.policy.as_ref().unwrap().policy, policy);
    let history = store.key_history(key).await.unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.action, "policy");
    assert_eq!(last.reason.as_deref(), Some(policy.to_stored().as_str()));

    // Setting it again replaces it; an empty policy removes it.
    let mut narrower = spec.clone();
    narrower.rate_limit = None;
    let narrower = UsagePolicy::parse(&narrower).unwrap();
    store
        .set_key_policy(&change(Some(narrower.clone())), &event("set_key_policy"))
        .await
        .unwrap();
    let loaded = store.load_key(key).await.unwrap().unwrap();
    assert_eq!(loaded.policy.as_ref().unwrap().policy, narrower);
    store
        .set_key_policy(
            &change(Some(UsagePolicy::default())),
            &event("set_key_policy"),
        )
        .await
        .unwrap();
    assert!(store.load_key(key).await.unwrap().unwrap().policy.is_none());
    store
        .set_key_policy(&change(None), &event("set_key_policy"))
        .await
        .unwrap();
    assert!(store.load_key(key).await.unwrap().unwrap().policy.is_none());
    assert_eq!(
        store
            .key_history(key)
            .await
            .unwrap()
            .last()
            .unwrap()
            .reason
            .as_deref(),
        Some("removed")
    );

    let mut missing = change(Some(policy));
    missing.key = KeyId::random();
    assert!(matches!(
        store
            .set_key_policy(&missing, &event("set_key_policy"))
            .await,
        Err(StoreError::NotFound("key"))
    ));
}
