//! Conformance: what the store last heard from each node of its internal API.

use kms_engine::store::{KeyStore, NodeContact};

use super::at;

pub fn contact(fingerprint: &str, ms: i64, status: &str, applied: u64) -> NodeContact {
    NodeContact {
        fingerprint: fingerprint.into(),
        zone: Some("zone-a".into()),
        last_seen: at(ms),
        status: Some(status.into()),
        applied: Some(applied),
    }
}

/// A node's contact is replaced by a later one and never by an earlier one (two store processes
/// may write out of order); nodes are listed by fingerprint; recording moves no revision (it is
/// not a change the service nodes follow) and writes no audit entry.
pub async fn node_contacts_keep_the_latest(store: &dyn KeyStore) {
    assert!(store.node_contacts().await.unwrap().is_empty());
    let revision = store.revision().await.unwrap();
    let head = store.audit_head().await.unwrap();
    store
        .record_node_contact(&contact("bb", 1_000, "degraded", 3))
        .await
        .unwrap();
    store
        .record_node_contact(&contact("bb", 5_000, "ready", 7))
        .await
        .unwrap();
    // Late, from another store process: older than what is recorded, so it is dropped.
    store
        .record_node_contact(&contact("bb", 4_000, "degraded", 5))
        .await
        .unwrap();
    let manage = NodeContact {
        fingerprint: "aa".into(),
        zone: None,
        last_seen: at(2_000),
        status: None,
        applied: None,
    };
    store.record_node_contact(&manage).await.unwrap();
    assert_eq!(
        store.node_contacts().await.unwrap(),
        vec![manage, contact("bb", 5_000, "ready", 7)]
    );
    assert_eq!(store.revision().await.unwrap(), revision);
    assert_eq!(store.audit_head().await.unwrap(), head);
}
