//! Every data-plane operation of the native API through the client, async and blocking.

use kms_client::{Batching, Error, SignOptions, SignScheme};
use rsa::pkcs8::DecodePublicKey;
use rsa::sha2::Sha256;
use rsa::{Oaep, PublicKey};
use serde_json::json;

use super::{builder, create_key, runtime, url};
use crate::support::{Http, ROOT, b64, dev_server};

/// What the browser does for a password key: RSA-OAEP-SHA256 of `{"p","c"}` to the public key.
fn browser_blob(pem: &str, password: &str, challenge: &str) -> String {
    let public = PublicKey::from_public_key_pem(pem).unwrap();
    let payload = json!({ "p": password, "c": challenge }).to_string();
    b64(&public
        .encrypt(&mut rand::rng(), Oaep::<Sha256>::new(), payload.as_bytes())
        .unwrap())
}

#[test]
fn every_data_plane_operation_through_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    create_key(&http, "cl-cards", "aes-256-gcm");
    create_key(&http, "cl-macs", "hmac-sha256");
    create_key(&http, "cl-signer", "ecdsa-p256");
    create_key(&http, "cl-rsa", "rsa-2048");
    let (s, b) = http.post(
        "/v1/admin/keys",
        Some(ROOT),
        &json!({ "name": "cl-login", "algorithm": "rsa-2048", "purpose": "password" }),
    );
    assert_eq!(s, 201, "{b}");
    let token = http.create_app("cl-ops");
    http.grant(
        "cl-cards",
        "cl-ops",
        &["encrypt", "decrypt", "rewrap", "datakey"],
    );
    http.grant("cl-macs", "cl-ops", &["hmac"]);
    http.grant("cl-signer", "cl-ops", &["sign", "verify"]);
    http.grant("cl-rsa", "cl-ops", &["sign", "verify"]);
    http.grant("cl-login", "cl-ops", &["protect", "verify"]);

    let rt = runtime();
    rt.block_on(async {
        // Without batching too, so that every call is its own request here.
        for batching in [Batching::default(), Batching::disabled()] {
            let kms = builder(&url(&server), &token)
                .batching(batching)
                .build()
                .unwrap();

            // encrypt / decrypt, with and without a context; a wrong context is refused.
            let ct = kms
                .encrypt("cl-cards", b"4111111111111111", Some(b"order-1"))
                .await
                .unwrap();
            assert!(ct.ciphertext.starts_with("kms:00001:"), "{ct:?}");
            assert_eq!(ct.key_version, 1);
            let pt = kms
                .decrypt("cl-cards", &ct.ciphertext, Some(b"order-1"))
                .await
                .unwrap();
            assert_eq!(&pt[..], b"4111111111111111");
            let bare = kms.encrypt("cl-cards", b"x", None).await.unwrap();
            assert_eq!(
                &kms.decrypt("cl-cards", &bare.ciphertext, None)
                    .await
                    .unwrap()[..],
                b"x"
            );
            match kms
                .decrypt("cl-cards", &ct.ciphertext, Some(b"order-2"))
                .await
            {
                Err(Error::Api(e)) => assert_eq!(e.code, "decryption_failed"),
                other => panic!("{other:?}"),
            }

            // datakey: the plaintext is the ciphertext's plaintext.
            let dk = kms.datakey("cl-cards", 256, Some(b"file-7")).await.unwrap();
            assert_eq!(dk.plaintext.expose().len(), 32);
            let unwrapped = kms
                .decrypt("cl-cards", &dk.ciphertext, Some(b"file-7"))
                .await
                .unwrap();
            assert_eq!(&unwrapped[..], dk.plaintext.expose());
            let wrapped = kms.datakey_wrapped("cl-cards", 128, None).await.unwrap();
            let unwrapped = kms
                .decrypt("cl-cards", &wrapped.ciphertext, None)
                .await
                .unwrap();
            assert_eq!(unwrapped.len(), 16);

            // sign / verify (ECDSA; RSA with both schemes); a changed input does not verify.
            let sig = kms
                .sign("cl-signer", b"pay 100.00 EUR", SignOptions::default())
                .await
                .unwrap();
            let opts = SignOptions::default();
            assert!(
                kms.verify("cl-signer", b"pay 100.00 EUR", &sig.value, opts)
                    .await
                    .unwrap()
            );
            assert!(
                !kms.verify("cl-signer", b"pay 900.00 EUR", &sig.value, opts)
                    .await
                    .unwrap()
            );
            let v15 = SignOptions {
                prehashed: false,
                scheme: Some(SignScheme::Pkcs1v15),
            };
            let sig = kms.sign("cl-rsa", b"statement", v15).await.unwrap();
            assert!(
                kms.verify("cl-rsa", b"statement", &sig.value, v15)
                    .await
                    .unwrap()
            );
            let pem = kms.public_key("cl-signer", None).await.unwrap();
            assert!(pem.pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem:?}");
            assert_eq!(pem.algorithm, "ecdsa-p256");

            // hmac / hmac verify.
            let mac = kms.hmac("cl-macs", b"4111111111111111").await.unwrap();
            assert_eq!(
                mac.value,
                kms.hmac("cl-macs", b"4111111111111111")
                    .await
                    .unwrap()
                    .value
            );
            assert!(
                kms.hmac_verify("cl-macs", b"4111111111111111", &mac.value)
                    .await
                    .unwrap()
            );
            assert!(
                !kms.hmac_verify("cl-macs", b"4000000000000002", &mac.value)
                    .await
                    .unwrap()
            );

            // random.
            let r = kms.random(48).await.unwrap();
            assert_eq!(r.len(), 48);
            assert_ne!(&r[..], &kms.random(48).await.unwrap()[..]);

            // Refusals keep their stable codes.
            match kms.encrypt("cl-macs", b"x", None).await {
                Err(Error::Api(e)) => {
                    assert_eq!(e.code, "operation_not_granted");
                    assert_eq!(e.status, Some(403));
                }
                other => panic!("{other:?}"),
            }
        }

        // rewrap after a rotation: the same plaintext under version 2.
        let kms = builder(&url(&server), &token).build().unwrap();
        let old = kms.encrypt("cl-cards", b"5500", None).await.unwrap();
        let (s, b) = http.post(
            "/v1/admin/keys/cl-cards/rotate",
            Some(ROOT),
            &json!({ "reason": "client test" }),
        );
        assert_eq!(s, 200, "{b}");
        let new = kms.rewrap("cl-cards", &old.ciphertext, None).await.unwrap();
        assert_eq!(new.key_version, 2);
        assert_eq!(
            &kms.decrypt("cl-cards", &new.ciphertext, None)
                .await
                .unwrap()[..],
            b"5500"
        );

        // Passwords: the challenge's node does protect and verify.
        let public = kms.password_public_key("cl-login").await.unwrap();
        let challenge = kms.password_challenge("cl-login").await.unwrap();
        let on_node = kms.on_node(challenge.node);
        let blob = browser_blob(&public.pem, "correct horse", &challenge.challenge);
        let protected = on_node
            .password_protect("cl-login", &blob, b"salt-of-ann")
            .await
            .unwrap();
        let challenge = kms.password_challenge("cl-login").await.unwrap();
        let blob = browser_blob(&public.pem, "correct horse", &challenge.challenge);
        let verdict = kms
            .on_node(challenge.node)
            .password_verify("cl-login", &blob, b"salt-of-ann", &protected.ciphertext)
            .await
            .unwrap();
        assert!(verdict.matched);
        // The same blob again: its challenge is spent (409), and the client did not retry it.
        match kms
            .on_node(challenge.node)
            .password_verify("cl-login", &blob, b"salt-of-ann", &protected.ciphertext)
            .await
        {
            Err(Error::Api(e)) => assert_eq!(e.code, "challenge_reused"),
            other => panic!("{other:?}"),
        }
    });

    // The blocking facade, from plain threads.
    let blocking = super::builder(&url(&server), &token)
        .build_blocking(1)
        .unwrap();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let kms = blocking.clone();
            std::thread::spawn(move || {
                let pan = format!("4111-{i}");
                let ct = kms.encrypt("cl-cards", pan.as_bytes(), None).unwrap();
                assert_eq!(ct.key_version, 2);
                let back = kms.decrypt("cl-cards", &ct.ciphertext, None).unwrap();
                assert_eq!(&back[..], pan.as_bytes());
                let env = kms.encrypt_local("cl-cards", pan.as_bytes(), None).unwrap();
                assert_eq!(&kms.decrypt_local(&env, None).unwrap()[..], pan.as_bytes());
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(blocking.stats().items >= 8);
}
