//! Conformance: zones and their transport public keys.

use kms_engine::store::{KeyStore, StoreError, ZoneRecord};

use super::{at, event};

fn zone(name: &str, fingerprint: &str) -> ZoneRecord {
    ZoneRecord {
        name: name.into(),
        public_key_pem: format!("-----BEGIN PUBLIC KEY-----\n{name}\n-----END PUBLIC KEY-----\n"),
        fingerprint: fingerprint.into(),
        registered_at: at(5),
        registered_by: "user:ann".into(),
    }
}

/// A zone is registered once, with its audit record, and listed by name; a fingerprint belongs to
/// one zone.
pub async fn zones_are_registered_once(store: &dyn KeyStore) {
    assert!(store.zones().await.unwrap().is_empty());
    let (_, head) = store.audit_head().await.unwrap();
    store
        .register_zone(&zone("zone-b", "bb"), &event("register_zone"))
        .await
        .unwrap();
    store
        .register_zone(&zone("zone-a", "aa"), &event("register_zone"))
        .await
        .unwrap();
    assert_ne!(store.audit_head().await.unwrap().1, head);
    let zones = store.zones().await.unwrap();
    assert_eq!(zones, vec![zone("zone-a", "aa"), zone("zone-b", "bb")]);
    let again = store
        .register_zone(&zone("zone-a", "cc"), &event("register_zone"))
        .await;
    assert!(
        matches!(again, Err(StoreError::AlreadyExists("zone"))),
        "{again:?}"
    );
    let same_key = store
        .register_zone(&zone("zone-c", "aa"), &event("register_zone"))
        .await;
    assert!(
        matches!(same_key, Err(StoreError::AlreadyExists("zone"))),
        "{same_key:?}"
    );
    assert_eq!(store.zones().await.unwrap().len(), 2);
}
