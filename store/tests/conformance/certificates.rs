//! Conformance: client certificates bound to apps.

use kms_engine::certificate::CertFingerprint;
use kms_engine::directory::Principal;
use kms_engine::ids::{AppId, AppName};
use kms_engine::store::{AppRecord, CertificateBinding, Change, KeyStore, StoreError};
use kms_engine::token::TokenHash;

use super::{at, event};

async fn app(store: &dyn KeyStore, name: &str) -> AppRecord {
    let app = AppRecord {
        id: AppId::random(),
        name: AppName::new(name).unwrap(),
        created_at: at(0),
    };
    store
        .create_app(
            &app,
            &TokenHash::of(&format!("kms_{name}")),
            &event("create_app"),
        )
        .await
        .unwrap();
    app
}

fn binding(app: &AppRecord, der: &[u8], ms: i64) -> CertificateBinding {
    CertificateBinding {
        app: app.id,
        fingerprint: CertFingerprint::of_der(der),
        at: at(ms),
    }
}

/// A binding loads as the app's certificate credential, is listed with the app, is never bound
/// twice (to any app), and is revoked with the app's tokens.
pub async fn certificates_bind_once_and_are_revoked_with_the_app(store: &dyn KeyStore) {
    let checkout = app(store, "checkout").await;
    let billing = app(store, "billing").await;
    let before = store.revision().await.unwrap();
    let r = store
        .bind_app_certificate(&binding(&checkout, b"cert-1", 10), &event("bind"))
        .await
        .unwrap();
    assert_eq!(
        store.changes_since(before, 10).await.unwrap(),
        vec![(r, Change::Credentials)]
    );
    store
        .bind_app_certificate(&binding(&checkout, b"cert-2", 11), &event("bind"))
        .await
        .unwrap();
    let loaded = store.load_certificates().await.unwrap();
    assert_eq!(loaded.len(), 2);
    let one = loaded
        .iter()
        .find(|c| c.fingerprint == CertFingerprint::of_der(b"cert-1"))
        .unwrap();
    assert_eq!(
        one.principal,
        Principal::App {
            id: checkout.id,
            name: checkout.name.clone()
        }
    );

    // The same certificate again, for this app or another: refused.
    for target in [&checkout, &billing] {
        assert!(matches!(
            store
                .bind_app_certificate(&binding(target, b"cert-1", 12), &event("bind"))
                .await,
            Err(StoreError::AlreadyExists("certificate"))
        ));
    }
    let ghost = AppRecord {
        id: AppId::random(),
        ..checkout.clone()
    };
    assert!(matches!(
        store
            .bind_app_certificate(&binding(&ghost, b"cert-3", 12), &event("bind"))
            .await,
        Err(StoreError::NotFound("app"))
    ));

    let listed = store.list_apps(Some(&checkout.name)).await.unwrap();
    let certs = &listed[0].certificates;
    assert_eq!(certs.len(), 2);
    assert_eq!(certs[0].fingerprint, CertFingerprint::of_der(b"cert-1"));
    assert_eq!(certs[0].created_at, at(10));
    assert!(certs.iter().all(|c| c.revoked_at.is_none()));
    let billing_listed = store.list_apps(Some(&billing.name)).await.unwrap();
    assert!(billing_listed[0].certificates.is_empty());

    // Revoking the app ends its certificates too; the other app's stay.
    store
        .bind_app_certificate(&binding(&billing, b"cert-b", 13), &event("bind"))
        .await
        .unwrap();
    store
        .revoke_app_tokens(checkout.id, at(20), &event("revoke_app"))
        .await
        .unwrap();
    let loaded = store.load_certificates().await.unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].fingerprint, CertFingerprint::of_der(b"cert-b"));
    let listed = store.list_apps(Some(&checkout.name)).await.unwrap();
    assert!(
        listed[0]
            .certificates
            .iter()
            .all(|c| c.revoked_at == Some(at(20)))
    );
}
