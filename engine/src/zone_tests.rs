use std::sync::OnceLock;

use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};

use super::*;
use crate::algorithm::Algorithm;
use crate::ids::{KeyId, KeyVersion};

const RSA2048_DER: &[u8] = include_bytes!("crypto/testdata/rsa2048.der");

/// RSA-3072 generation takes about a second: two keys shared by every test.
fn zone_key(which: usize) -> &'static ZonePrivateKey {
    static KEYS: [OnceLock<ZonePrivateKey>; 2] = [OnceLock::new(), OnceLock::new()];
    KEYS[which].get_or_init(|| ZonePrivateKey::generate().unwrap())
}

fn context() -> WrapContext {
    WrapContext {
        key: KeyId::from_bytes([7; 16]),
        version: KeyVersion::new(3).unwrap(),
        algorithm: Algorithm::Aes256Gcm,
    }
}

#[test]
fn zone_names_follow_the_rule() {
    for good in ["eu-west-1", "a", "0", &"z".repeat(32)] {
        assert_eq!(ZoneName::new(good).unwrap().as_str(), good);
    }
    for bad in [
        "",
        "-eu",
        "EU",
        "eu_west",
        "eu.west",
        "eu west",
        "é",
        &"z".repeat(33),
    ] {
        assert!(ZoneName::new(bad).is_err(), "{bad:?} accepted");
    }
    let zone = ZoneName::new("eu-west-1").unwrap();
    assert_eq!(zone.to_string(), "eu-west-1");
    assert_eq!(zone_master_key_id(&zone).as_str(), "zone:eu-west-1");
    let longest = ZoneName::new(&"z".repeat(32)).unwrap();
    assert_eq!(zone_master_key_id(&longest).as_str().len(), 37);
}

#[test]
fn transport_round_trips_for_every_material_length() {
    let zone = zone_key(0);
    let public = zone.public();
    let der = KeyMaterial::from_slice(RSA2048_DER);
    let long = KeyMaterial::random(3000);
    for material in [
        KeyMaterial::random(1),
        KeyMaterial::random(16),
        KeyMaterial::random(32),
        KeyMaterial::random(64),
        der,
        long,
    ] {
        let blob = public.wrap_transport(&context(), &material).unwrap();
        assert_eq!(blob[0], TRANSPORT_FORMAT_V1);
        assert_eq!(u16::from_be_bytes([blob[1], blob[2]]), 384);
        let opened = zone.unwrap_transport(&context(), &blob).unwrap();
        assert_eq!(
            opened.expose(),
            material.expose(),
            "{} bytes",
            material.len()
        );
        // A fresh transport key each time.
        assert_ne!(blob, public.wrap_transport(&context(), &material).unwrap());
    }
}

#[test]
fn empty_material_is_refused() {
    let empty = KeyMaterial::new(Vec::new());
    let err = zone_key(0).public().wrap_transport(&context(), &empty);
    assert!(matches!(err, Err(EngineError::InvalidArgument(_))));
}

#[test]
fn another_zone_key_does_not_open() {
    let blob = zone_key(0)
        .public()
        .wrap_transport(&context(), &KeyMaterial::random(32))
        .unwrap();
    let err = zone_key(1).unwrap_transport(&context(), &blob);
    assert!(matches!(err, Err(EngineError::TransportUnwrapFailed)));
}

#[test]
fn another_context_does_not_open() {
    let zone = zone_key(0);
    let blob = zone
        .public()
        .wrap_transport(&context(), &KeyMaterial::random(32))
        .unwrap();
    let others = [
        WrapContext {
            key: KeyId::from_bytes([8; 16]),
            ..context()
        },
        WrapContext {
            version: KeyVersion::new(4).unwrap(),
            ..context()
        },
        WrapContext {
            algorithm: Algorithm::ChaCha20Poly1305,
            ..context()
        },
    ];
    for other in others {
        let err = zone.unwrap_transport(&other, &blob);
        assert!(
            matches!(err, Err(EngineError::TransportUnwrapFailed)),
            "{other:?}"
        );
    }
}

#[test]
fn altered_or_truncated_blobs_do_not_open() {
    let zone = zone_key(0);
    let blob = zone
        .public()
        .wrap_transport(&context(), &KeyMaterial::random(64))
        .unwrap();
    // Format byte, length, RSA part (start, middle, end), key wrap (start, middle, end).
    let mut positions = vec![0, 1, 2, 3, 100, 386, 387, 400, blob.len() - 1];
    positions.extend((0..blob.len()).step_by(37));
    for at in positions {
        let mut altered = blob.clone();
        altered[at] ^= 0x01;
        let err = zone.unwrap_transport(&context(), &altered);
        assert!(
            matches!(err, Err(EngineError::TransportUnwrapFailed)),
            "byte {at}"
        );
    }
    for len in [0, 1, 3, 387, 395, blob.len() - 8, blob.len() - 1] {
        let err = zone.unwrap_transport(&context(), &blob[..len]);
        assert!(
            matches!(err, Err(EngineError::TransportUnwrapFailed)),
            "len {len}"
        );
    }
    let mut longer = blob.clone();
    longer.extend_from_slice(&[0; 8]);
    assert!(zone.unwrap_transport(&context(), &longer).is_err());
    let mut v2 = blob;
    v2[0] = 0x02;
    assert!(matches!(
        zone.unwrap_transport(&context(), &v2),
        Err(EngineError::TransportUnwrapFailed)
    ));
}

#[test]
fn rsa_2048_and_non_rsa_keys_are_refused() {
    let small = rsa::PrivateKey::from_pkcs8_der(RSA2048_DER).unwrap();
    let spki = small
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    match ZonePublicKey::from_pem(&spki) {
        Err(EngineError::InvalidArgument(msg)) => assert!(msg.contains("2048"), "{msg}"),
        other => panic!("{other:?}"),
    }
    let pkcs1 = small.to_public_key().to_pkcs1_pem(LineEnding::LF).unwrap();
    assert!(matches!(
        ZonePublicKey::from_pem(&pkcs1),
        Err(EngineError::InvalidArgument(_))
    ));
    let private = Zeroizing::new(
        rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&small, LineEnding::LF)
            .unwrap()
            .to_string(),
    );
    assert!(matches!(
        ZonePrivateKey::from_pem(&private),
        Err(EngineError::InvalidArgument(_))
    ));
    use p256::elliptic_curve::Generate;
    let p256 = p256::SecretKey::generate_from_rng(&mut rand::rng())
        .public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    assert!(matches!(
        ZonePublicKey::from_pem(&p256),
        Err(EngineError::InvalidArgument(_))
    ));
    assert!(ZonePublicKey::from_pem("not a key").is_err());
}

#[test]
fn pems_round_trip_and_the_fingerprint_is_stable() {
    let zone = zone_key(0);
    let public = zone.public();
    let pem = public.to_pem();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    let again = ZonePublicKey::from_pem(&pem).unwrap();
    assert_eq!(again, public);
    assert_eq!(again.to_pem(), pem);
    assert_eq!(again.fingerprint(), public.fingerprint());
    assert_eq!(public.fingerprint().len(), 64);
    assert!(
        public
            .fingerprint()
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_ne!(public.fingerprint(), zone_key(1).public().fingerprint());

    // PKCS#1 public PEM: same key, same fingerprint.
    let pkcs1 = rsa::PublicKey::from_public_key_pem(&pem)
        .unwrap()
        .to_pkcs1_pem(LineEnding::LF)
        .unwrap();
    assert!(pkcs1.starts_with("-----BEGIN RSA PUBLIC KEY-----"));
    assert_eq!(
        ZonePublicKey::from_pem(&pkcs1).unwrap().fingerprint(),
        public.fingerprint()
    );

    // Private key: PKCS#8 out, PKCS#8 and PKCS#1 in; the reloaded key opens the same blobs.
    let private_pem = zone.to_pem();
    assert!(private_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let reloaded = ZonePrivateKey::from_pem(&private_pem).unwrap();
    assert_eq!(reloaded.public(), public);
    let pkcs1_private = rsa::pkcs1::EncodeRsaPrivateKey::to_pkcs1_pem(
        &rsa::PrivateKey::from_pkcs8_pem(&private_pem).unwrap(),
        LineEnding::LF,
    )
    .unwrap();
    assert!(pkcs1_private.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let from_pkcs1 = ZonePrivateKey::from_pem(&pkcs1_private).unwrap();
    let material = KeyMaterial::random(32);
    let blob = public.wrap_transport(&context(), &material).unwrap();
    for key in [&reloaded, &from_pkcs1] {
        assert_eq!(
            key.unwrap_transport(&context(), &blob).unwrap().expose(),
            material.expose()
        );
    }
}

#[test]
fn debug_shows_no_private_material() {
    let zone = zone_key(0);
    let shown = format!("{zone:?}");
    assert!(shown.contains("redacted") && shown.contains(&zone.public().fingerprint()));
    let pem = zone.to_pem();
    let body: String = pem.lines().nth(1).unwrap().chars().take(20).collect();
    assert!(!shown.contains(&body));
}
