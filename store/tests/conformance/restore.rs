//! Conformance: Vault Transit's `allow_plaintext_backup` is stored and only turned on, and a key
//! restored from a backup (`KeyStore::restore_key`) comes back under its own id and versions:
//! over a deleted key's row, or with `force` over itself, never over another key's name; an id
//! the store never held becomes a new row.

use kms_engine::ids::{KeyId, KeyName};
use kms_engine::keyring::KeyEntry;
use kms_engine::store::{
    KeyConfig, KeyDeletion, KeyRestore, KeyStore, RestoredVersion, StoreError,
};

use super::{at, event, new_key, rotation};

fn restore_of(key: &KeyEntry, name: &str, force: bool) -> KeyRestore {
    KeyRestore {
        id: key.id,
        name: KeyName::new(name).unwrap(),
        algorithm: key.algorithm,
        settings: key.settings,
        created_at: key.created_at,
        min_decryption_version: key.min_decryption_version,
        versions: key
            .versions()
            .iter()
            .map(|v| RestoredVersion {
                version: v.version,
                state: v.state,
                wrapped: v.wrapped.clone(),
                created_at: v.created_at,
                updated_at: v.updated_at,
                destroy_at: v.destroy_at,
            })
            .collect(),
        force,
        at: at(20),
        actor: "root:test".into(),
        reason: "restored".into(),
    }
}

async fn configure(store: &dyn KeyStore, id: KeyId, config: KeyConfig) -> Result<(), StoreError> {
    store
        .configure_key(id, &config, at(5), "root:test", "transit", &event("config"))
        .await
        .map(|_| ())
}

pub async fn a_backed_up_key_is_restored_under_its_id(store: &dyn KeyStore) {
    let id = new_key(store, "ledger").await;
    store
        .rotate_key(&rotation(id, 2), &event("rotate"))
        .await
        .unwrap();
    let allow = KeyConfig {
        allow_plaintext_backup: Some(true),
        deletion_allowed: Some(true),
        ..KeyConfig::default()
    };
    configure(store, id, allow).await.unwrap();
    let backed_up = store.load_key(id).await.unwrap().unwrap();
    assert!(backed_up.settings.allow_plaintext_backup);
    // Once allowed, always allowed.
    let off = KeyConfig {
        allow_plaintext_backup: Some(false),
        ..KeyConfig::default()
    };
    let got = configure(store, id, off).await;
    assert!(matches!(got, Err(StoreError::Conflict(_))), "{got:?}");

    // Live: refused without `force`; with it, over itself only (not under another name).
    let again = store
        .restore_key(&restore_of(&backed_up, "ledger", false), &event("restore"))
        .await;
    assert!(
        matches!(again, Err(StoreError::AlreadyExists(_))),
        "{again:?}"
    );
    let renamed = store
        .restore_key(
            &restore_of(&backed_up, "ledger-copy", true),
            &event("restore"),
        )
        .await;
    assert!(
        matches!(renamed, Err(StoreError::AlreadyExists(_))),
        "{renamed:?}"
    );
    store
        .restore_key(&restore_of(&backed_up, "ledger", true), &event("restore"))
        .await
        .unwrap();
    // A backup older than the live key would lose its newer version: refused.
    store
        .rotate_key(&rotation(id, 3), &event("rotate"))
        .await
        .unwrap();
    let outdated = store
        .restore_key(&restore_of(&backed_up, "ledger", true), &event("restore"))
        .await;
    assert!(
        matches!(outdated, Err(StoreError::Conflict(_))),
        "{outdated:?}"
    );
    let newer = store.load_key(id).await.unwrap().unwrap();
    assert_eq!(newer.versions().len(), 3);

    // Deleted (material erased), then restored: the same id, versions and material.
    let deletion = KeyDeletion {
        key: id,
        at: at(10),
        actor: "root:test".into(),
        reason: "gone".into(),
    };
    store.delete_key(&deletion, &event("delete")).await.unwrap();
    assert!(store.load_key(id).await.unwrap().is_none());
    // Another key holding the name refuses the restore.
    let squatter = new_key(store, "ledger").await;
    let held = store
        .restore_key(&restore_of(&backed_up, "ledger", true), &event("restore"))
        .await;
    assert!(
        matches!(held, Err(StoreError::AlreadyExists(_))),
        "{held:?}"
    );
    store
        .restore_key(
            &restore_of(&backed_up, "ledger-old", false),
            &event("restore"),
        )
        .await
        .unwrap();
    let back = store.load_key(id).await.unwrap().unwrap();
    assert_eq!(back.name.as_str(), "ledger-old");
    assert_eq!(back.settings, backed_up.settings);
    assert_eq!(back.active, backed_up.active);
    let shown = |k: &KeyEntry| {
        k.versions()
            .iter()
            .map(|v| {
                (
                    v.version,
                    v.state,
                    v.wrapped.clone(),
                    v.created_at,
                    v.destroy_at,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(shown(&back), shown(&backed_up));
    let name = KeyName::new("ledger-old").unwrap();
    assert_eq!(store.key_id(&name).await.unwrap(), Some(id));
    assert!(store.load_key(squatter).await.unwrap().is_some());
    let history = store.key_history(id).await.unwrap();
    assert!(history.iter().any(|e| e.action == "restore"), "{history:?}");

    // An id this store never held: a new row, with the backup's settings and versions.
    let mut copy = restore_of(&backed_up, "ledger-copy", false);
    copy.id = KeyId::random();
    store.restore_key(&copy, &event("restore")).await.unwrap();
    let new = store.load_key(copy.id).await.unwrap().unwrap();
    assert_eq!(new.name.as_str(), "ledger-copy");
    assert_eq!(new.algorithm, backed_up.algorithm);
    assert_eq!(new.settings, backed_up.settings);
    assert_eq!(new.created_at, backed_up.created_at);
    assert_eq!(new.min_decryption_version, backed_up.min_decryption_version);
    assert_eq!(shown(&new), shown(&backed_up));
}
