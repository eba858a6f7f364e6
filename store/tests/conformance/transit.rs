//! Conformance: Vault Transit's key settings (derived, convergent, imported, exportable,
//! `min_encryption_version`) are stored, loaded back and changed as the engine expects.

use kms_engine::algorithm::Algorithm;
use kms_engine::ids::{KeyId, KeyName, KeyVersion};
use kms_engine::keyring::KeySettings;
use kms_engine::store::{KeyConfig, KeyStore, NewKey, StoreError};

use super::{at, ensure_master_key, event, rotation, wrapped};

pub async fn transit_settings_round_trip_and_change(store: &dyn KeyStore) {
    ensure_master_key(store).await;
    let settings = KeySettings {
        derived: true,
        convergent: true,
        imported: true,
        ..KeySettings::default()
    };
    let key = NewKey {
        id: KeyId::random(),
        name: KeyName::new("byok-conv").unwrap(),
        algorithm: Algorithm::ChaCha20Poly1305,
        settings,
        wrapped: wrapped(1),
        at: at(1),
        actor: "root:test".into(),
    };
    store.create_key(&key, &event("create_key")).await.unwrap();
    let loaded = store.load_key(key.id).await.unwrap().unwrap();
    assert_eq!(loaded.settings, settings);
    // A key made with the defaults stays plain after the new columns.
    let plain = super::new_key(store, "plain-p521").await;
    let plain = store.load_key(plain).await.unwrap().unwrap();
    assert!(!plain.settings.derived && !plain.settings.imported);
    assert_eq!(plain.settings.min_encryption_version, 0);

    store
        .rotate_key(&rotation(key.id, 2), &event("rotate"))
        .await
        .unwrap();
    let config = KeyConfig {
        min_encryption_version: Some(2),
        exportable: Some(true),
        ..KeyConfig::default()
    };
    store
        .configure_key(
            key.id,
            &config,
            at(3),
            "root:test",
            "transit",
            &event("config"),
        )
        .await
        .unwrap();
    let all = store.load_keys().await.unwrap();
    let loaded = all.iter().find(|k| k.id == key.id).unwrap();
    assert_eq!(loaded.settings.min_encryption_version, 2);
    assert!(loaded.settings.exportable && loaded.settings.derived);
    assert_eq!(loaded.active, KeyVersion::new(2).unwrap());

    // Above the latest version, and exportable turned off again: refused, nothing changed.
    for refused in [
        KeyConfig {
            min_encryption_version: Some(3),
            ..KeyConfig::default()
        },
        KeyConfig {
            exportable: Some(false),
            ..KeyConfig::default()
        },
    ] {
        let got = store
            .configure_key(
                key.id,
                &refused,
                at(4),
                "root:test",
                "transit",
                &event("config"),
            )
            .await;
        assert!(matches!(got, Err(StoreError::Conflict(_))), "{got:?}");
    }
    let loaded = store.load_key(key.id).await.unwrap().unwrap();
    assert_eq!(loaded.settings.min_encryption_version, 2);
    assert!(loaded.settings.exportable);
}
