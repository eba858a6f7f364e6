//! Deleting a key (Vault Transit's delete, for a key whose `deletion_allowed` is set).

use kms_engine::algorithm::{Algorithm, Operation};
use kms_engine::ids::{AppId, AppName, KeyId, KeyName};
use kms_engine::policy::{PolicySpec, UsagePolicy};
use kms_engine::store::{
    AppRecord, AuditQuery, Change, Grant, KeyConfig, KeyDeletion, KeyStore, NewKey, PolicyChange,
    Rotation, StoreError,
};
use kms_engine::token::TokenHash;
use kms_engine::version::VersionState;
use kms_engine::wrap::WrappedKey;

use super::{at, ensure_master_key, event, v};

/// Material no other row holds, so a search of the database files finds exactly it.
fn material(key: KeyId, version: u32) -> WrappedKey {
    let mut blob = b"doomed-material-".to_vec();
    blob.extend_from_slice(key.as_bytes());
    blob.extend_from_slice(&version.to_be_bytes());
    WrappedKey {
        master_key: kms_engine::ids::MasterKeyId::new("mk-test").unwrap(),
        blob,
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn deletion(key: KeyId) -> KeyDeletion {
    KeyDeletion {
        key,
        at: at(50),
        actor: "root:test".into(),
        reason: "no longer needed".into(),
    }
}

/// A key is deleted only once `deletion_allowed` is set; then in one commit every version's
/// material is gone (from the rows and from what the backend keeps at rest: `at_rest` returns
/// those bytes, e.g. the database files), the key is no longer loaded, listed or found by name,
/// nothing more can change it, its name takes a new key, and its history and audit records stay.
pub async fn a_deleted_key_is_erased_its_name_freed_and_its_history_kept(
    store: &dyn KeyStore,
    at_rest: &dyn Fn() -> Vec<Vec<u8>>,
) {
    ensure_master_key(store).await;
    let id = KeyId::random();
    let name = KeyName::new("doomed").unwrap();
    let new_key = |id: KeyId, wrapped: WrappedKey| NewKey {
        id,
        name: name.clone(),
        algorithm: Algorithm::Aes256Gcm,
        settings: Default::default(),
        wrapped,
        at: at(1),
        actor: "root:test".into(),
    };
    store
        .create_key(&new_key(id, material(id, 1)), &event("create_key"))
        .await
        .unwrap();
    let rotation = Rotation {
        key: id,
        new_version: v(2),
        wrapped: material(id, 2),
        at: at(2),
        actor: "root:test".into(),
        reason: "rotate".into(),
    };
    store
        .rotate_key(&rotation, &event("rotate_key"))
        .await
        .unwrap();
    let app = AppRecord {
        id: AppId::random(),
        name: AppName::new("payments").unwrap(),
        created_at: at(3),
    };
    store
        .create_app(&app, &TokenHash::of("t"), &event("create_app"))
        .await
        .unwrap();
    let grant = Grant {
        key: id,
        app: app.id,
        app_name: app.name.clone(),
        operations: [Operation::Encrypt, Operation::Decrypt]
            .into_iter()
            .collect(),
        at: at(4),
        actor: "root:test".into(),
    };
    store.set_grant(&grant, &event("grant")).await.unwrap();
    let policy = UsagePolicy::parse(&PolicySpec {
        allowed_cidrs: vec!["10.0.0.0/8".into()],
        ..Default::default()
    })
    .unwrap();
    let policy_change = PolicyChange {
        key: id,
        policy: Some(policy),
        at: at(5),
        actor: "root:test".into(),
    };
    store
        .set_key_policy(&policy_change, &event("set_key_policy"))
        .await
        .unwrap();

    // Not allowed by default: refused, nothing changed.
    let key = store.load_key(id).await.unwrap().unwrap();
    assert!(!key.settings.deletion_allowed);
    assert!(matches!(
        store.delete_key(&deletion(id), &event("delete_key")).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .delete_key(&deletion(KeyId::random()), &event("delete_key"))
            .await,
        Err(StoreError::NotFound("key"))
    ));
    let key = store.load_key(id).await.unwrap().unwrap();
    assert_eq!(key.versions().len(), 2);
    assert!(key.grants_app(&app.id, Operation::Encrypt));
    assert!(key.policy.is_some());

    // Allowed through the key's configuration, which its history records.
    let allow = KeyConfig {
        deletion_allowed: Some(true),
        ..Default::default()
    };
    store
        .configure_key(id, &allow, at(10), "root:test", "allow", &event("config"))
        .await
        .unwrap();
    let key = store.load_key(id).await.unwrap().unwrap();
    assert!(key.settings.deletion_allowed);
    let configured = store.key_history(id).await.unwrap().pop().unwrap();
    assert_eq!(configured.action, "configure");
    assert_eq!(
        configured.reason.as_deref(),
        Some("allow (deletion_allowed=true)")
    );
    // The search finds the material while it is there.
    let files = at_rest();
    for n in [1, 2] {
        let blob = material(id, n).blob;
        assert!(files.iter().any(|f| contains(f, &blob)), "v{n} not found");
    }

    let before = store.revision().await.unwrap();
    let revision = store
        .delete_key(&deletion(id), &event("delete_key"))
        .await
        .unwrap();
    // One commit, one change-feed entry for the key: the key sync drops it.
    assert_eq!(revision, before + 1);
    assert_eq!(
        store.changes_since(before, 10).await.unwrap(),
        vec![(revision, Change::Key(id))]
    );
    assert!(store.load_key(id).await.unwrap().is_none());
    assert!(!store.load_keys().await.unwrap().iter().any(|k| k.id == id));
    assert_eq!(store.key_id(&name).await.unwrap(), None);
    let files = at_rest();
    for n in [1, 2] {
        let blob = material(id, n).blob;
        for f in &files {
            assert!(!contains(f, &blob), "v{n}'s material is still at rest");
        }
    }

    // Nothing reaches a deleted key any more.
    assert!(matches!(
        store.delete_key(&deletion(id), &event("delete_key")).await,
        Err(StoreError::NotFound("key"))
    ));
    let mut rotation = rotation;
    rotation.new_version = v(3);
    rotation.wrapped = material(id, 3);
    assert!(matches!(
        store.rotate_key(&rotation, &event("rotate_key")).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.set_grant(&grant, &event("grant")).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .configure_key(id, &allow, at(60), "root:test", "x", &event("config"))
            .await,
        Err(StoreError::NotFound(_))
    ));

    // History stays: every version destroyed by the deletion, then the key deleted.
    let history = store.key_history(id).await.unwrap();
    let tail: Vec<_> = history
        .iter()
        .rev()
        .take(3)
        .rev()
        .map(|e| {
            (
                e.version.map(|v| v.get()),
                e.action.as_str(),
                e.from_state,
                e.to_state,
                e.reason.as_deref(),
            )
        })
        .collect();
    let destroyed = Some(VersionState::Destroyed);
    let why = Some("no longer needed");
    assert_eq!(
        tail,
        [
            (
                Some(1),
                "delete",
                Some(VersionState::DecryptOnly),
                destroyed,
                why
            ),
            (
                Some(2),
                "delete",
                Some(VersionState::Active),
                destroyed,
                why
            ),
            (None, "delete", None, None, why),
        ]
    );
    assert_eq!(history[0].action, "create");
    let audited = store
        .audit_log(&AuditQuery {
            action: Some("delete_key".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audited.len(), 1);

    // The name takes a new key, which does not allow deletion until told so.
    let reborn = KeyId::random();
    store
        .create_key(&new_key(reborn, material(reborn, 1)), &event("create_key"))
        .await
        .unwrap();
    assert_eq!(store.key_id(&name).await.unwrap(), Some(reborn));
    let key = store.load_key(reborn).await.unwrap().unwrap();
    assert_eq!(key.name, name);
    assert!(!key.settings.deletion_allowed);
    assert!(!key.grants_app(&app.id, Operation::Encrypt));
    assert!(key.policy.is_none());
    // A second key of that name: refused as ever.
    assert!(matches!(
        store
            .create_key(
                &new_key(KeyId::random(), material(reborn, 9)),
                &event("create_key")
            )
            .await,
        Err(StoreError::AlreadyExists("key"))
    ));
}
