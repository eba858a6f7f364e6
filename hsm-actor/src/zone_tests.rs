use std::time::Duration;

use kms_engine::EngineError;
use kms_engine::algorithm::Algorithm;
use kms_engine::ids::{KeyId, KeyVersion};
use kms_engine::wrap::KeyUnwrapper;
use kms_engine::zone::ZonePublicKey;

use super::*;
use crate::actor::spawn;

fn context() -> WrapContext {
    WrapContext {
        key: KeyId::random(),
        version: KeyVersion::FIRST,
        algorithm: Algorithm::Aes256Gcm,
    }
}

fn transport(
    zone: &ZoneName,
    public: &ZonePublicKey,
    ctx: &WrapContext,
) -> (KeyMaterial, WrappedKey) {
    let material = KeyMaterial::random(32);
    let blob = public.wrap_transport(ctx, &material).unwrap();
    let wrapped = WrappedKey {
        master_key: zone_master_key_id(zone),
        blob,
    };
    (material, wrapped)
}

#[tokio::test]
async fn the_actor_unwraps_its_zones_blobs_and_refuses_others() {
    let eu = ZoneName::new("eu-west-1").unwrap();
    let us = ZoneName::new("us-east-1").unwrap();
    let eu_key = ZonePrivateKey::generate().unwrap();
    let us_key = ZonePrivateKey::generate().unwrap();
    let eu_public = eu_key.public();
    let backend = ZoneBackend::new(eu.clone(), eu_key);
    let (hsm, _thread) = spawn(Box::new(backend), 8, Duration::from_secs(5)).unwrap();

    let ctx = context();
    let (material, wrapped) = transport(&eu, &eu_public, &ctx);
    let h = hsm.clone();
    let w = wrapped.clone();
    let opened = tokio::task::spawn_blocking(move || h.unwrap_key(&ctx, &w))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(opened.expose(), material.expose());

    // Another zone's blob, addressed to that zone: an unknown master key here.
    let (_, theirs) = transport(&us, &us_key.public(), &ctx);
    let err = hsm.unwrap(ctx, theirs.clone()).await.unwrap_err();
    assert!(
        matches!(&err, HsmError::UnknownMasterKey(id) if id.as_str() == "zone:us-east-1"),
        "{err}"
    );
    // The same blob relabelled as ours still does not open: wrong zone key.
    let relabelled = WrappedKey {
        master_key: zone_master_key_id(&eu),
        blob: theirs.blob,
    };
    assert!(matches!(
        hsm.unwrap(ctx, relabelled.clone()).await,
        Err(HsmError::UnwrapFailed)
    ));
    let h = hsm.clone();
    let err = tokio::task::spawn_blocking(move || h.unwrap_key(&ctx, &relabelled))
        .await
        .unwrap();
    assert!(matches!(err, Err(EngineError::KeyMaterialCorrupt)));
    // Ours, for another version: refused.
    let other = WrapContext {
        version: KeyVersion::new(2).unwrap(),
        ..ctx
    };
    assert!(matches!(
        hsm.unwrap(other, wrapped).await,
        Err(HsmError::UnwrapFailed)
    ));
}

#[tokio::test]
async fn status_and_refused_operations() {
    let eu = ZoneName::new("eu-west-1").unwrap();
    let key = ZonePrivateKey::generate().unwrap();
    let fingerprint = key.public().fingerprint();
    let (hsm, _thread) = spawn(
        Box::new(ZoneBackend::new(eu.clone(), key)),
        8,
        Duration::from_secs(5),
    )
    .unwrap();

    let seal = hsm.seal_status().await.unwrap();
    assert_eq!(seal.backend, "zone");
    assert!(seal.initialized && !seal.sealed);

    let status = hsm.status().await.unwrap();
    assert_eq!(status.backend, "zone");
    assert_eq!(status.tokens.len(), 1);
    let token = &status.tokens[0];
    assert_eq!(token.label, "zone:eu-west-1");
    assert!(token.healthy && token.error.is_none());
    assert_eq!(token.master_keys.len(), 1);
    assert_eq!(token.master_keys[0].id, "zone:eu-west-1");
    assert!(fingerprint.starts_with(&token.master_keys[0].kcv));

    let ctx = context();
    let id = zone_master_key_id(&eu);
    let refused = |r: Result<(), HsmError>| match r {
        Err(HsmError::NotSupported(what)) => assert!(what.ends_with("on a service node"), "{what}"),
        other => panic!("{other:?}"),
    };
    refused(
        hsm.create_master_key(MasterKeySource::Generate, None)
            .await
            .map(|_| ()),
    );
    let kcv = Kcv::parse("3B2D27").unwrap();
    refused(
        hsm.load_master_key(id.clone(), kcv, vec![KeyMaterial::random(32)])
            .await
            .map(|_| ()),
    );
    refused(hsm.destroy_master_key(id.clone()).await);
    refused(hsm.generate_wrapped(ctx, id.clone()).await.map(|_| ()));
    refused(
        hsm.wrap(ctx, KeyMaterial::random(32), id.clone())
            .await
            .map(|_| ()),
    );
}

#[tokio::test]
async fn a_service_node_keeps_no_audit_counter() {
    let zone = ZoneName::new("eu-west-1").unwrap();
    let backend = ZoneBackend::new(zone, ZonePrivateKey::generate().unwrap());
    let (hsm, _thread) = spawn(Box::new(backend), 8, Duration::from_secs(5)).unwrap();
    assert!(matches!(
        hsm.audit_anchor().await,
        Err(HsmError::NotSupported(_))
    ));
    let next = kms_engine::audit::AuditAnchor {
        seals: 1,
        seq: 1,
        mac: [0; 32],
    };
    assert!(matches!(
        hsm.advance_audit_anchor(next).await,
        Err(HsmError::NotSupported(_))
    ));
}
