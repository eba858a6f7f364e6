//! Rekey and generate-root, tried as one custodian holding one share would: neither completes
//! without a quorum of distinct current shares from distinct custodians; with one, a rekey makes
//! the old shares useless and the new ones (each encrypted to its custodian) work, and
//! generate-root yields a working root token that only its key's holder can read.

use kms_engine::crypto::recipient::Holder;
use serde_json::{Value, json};

use super::shares::{Sealed3, as_custodian, key_pair};
use super::strings;
use crate::support::assert_error;

fn post(kms: &Sealed3, who: Option<&str>, path: &str, body: Value) -> (u16, Value) {
    as_custodian(&kms.server().addr, who, path, Some(&body))
}

/// A root token's reach: `GET /v1/hsm/status` answers 200 to an administrator.
fn works(kms: &Sealed3, token: &str) -> bool {
    kms.server().http().get("/v1/hsm/status", Some(token)).0 == 200
}

#[test]
fn one_custodian_with_one_share_can_neither_rekey_nor_make_a_root_token() {
    let mut kms = Sealed3::start();
    let (alice_share, bob_share) = (kms.share(0), kms.share(1));
    let root = kms.root();
    let (_, public) = key_pair();
    for (op, init) in [
        ("rekey", json!({ "shares": 3, "threshold": 2 })),
        ("generate-root", json!({ "public_key": public })),
    ] {
        // No custodian, no start.
        let got = post(&kms, None, &format!("/v1/hsm/{op}/init"), init.clone());
        assert_error(&got, 401, "missing_credentials");
        let (s, started) = post(&kms, Some("alice"), &format!("/v1/hsm/{op}/init"), init);
        assert_eq!(s, 201, "{started}");
        assert_eq!(started["required"], json!(2), "{started}");
        let nonce = started["nonce"].as_str().unwrap().to_owned();
        let update = |who: &str, share: &str| {
            post(
                &kms,
                Some(who),
                &format!("/v1/hsm/{op}/update"),
                json!({ "nonce": nonce, "share": share }),
            )
        };
        let (s, first) = update("alice", &alice_share);
        assert_eq!((s, &first["complete"]), (200, &json!(false)), "{first}");
        // Alice cannot add a second share, even a real one she came by.
        assert_error(&update("alice", &bob_share), 409, "already_submitted");
        // Nor can another account bring her share again.
        assert_error(&update("bob", &alice_share), 400, "invalid_share");
        // A well-formed share that is not one of this KMS's fails at the threshold; the attempt
        // is over and nothing changed.
        let forged = kms_hsm::soft::shamir::split(&[7; 32], 3, 2).unwrap();
        assert_error(&update("carol", forged[1].expose()), 400, "wrong_shares");
        assert_error(
            &update("dave", &bob_share),
            404,
            &format!("{}_not_started", op.replace('-', "_")),
        );
    }
    // A rekey to a split that one person could hold alone is refused.
    let got = post(
        &kms,
        Some("alice"),
        "/v1/hsm/rekey/init",
        json!({ "shares": 1, "threshold": 1 }),
    );
    assert_error(&got, 400, "invalid_request");
    // The root token and the old shares still work: nothing was rekeyed or regenerated.
    assert!(works(&kms, &root));
    assert!(kms.restart_and_unseal(&[alice_share, bob_share]));
}

#[test]
fn a_quorum_rekey_retires_the_old_shares_and_hands_each_new_one_to_its_custodian_only() {
    let mut kms = Sealed3::start();
    let old: Vec<String> = (0..3).map(|i| kms.share(i)).collect();
    let root = kms.root();
    let pairs: Vec<(String, String)> = (0..3).map(|_| key_pair()).collect();
    let keys: Vec<String> = pairs.iter().map(|p| p.1.clone()).collect();
    // Keys are checked when the rekey starts: one per share, RSA of at least 2048 bits.
    let got = post(
        &kms,
        Some("alice"),
        "/v1/hsm/rekey/init",
        json!({ "shares": 3, "threshold": 2, "share_keys": keys[..2] }),
    );
    assert_error(&got, 400, "share_keys_count");
    let got = post(
        &kms,
        Some("alice"),
        "/v1/hsm/rekey/init",
        json!({ "shares": 3, "threshold": 2, "share_keys": [keys[0], keys[1], "not a key"] }),
    );
    assert_error(&got, 400, "invalid_recipient_key");
    let (s, started) = post(
        &kms,
        Some("alice"),
        "/v1/hsm/rekey/init",
        json!({ "shares": 3, "threshold": 2, "share_keys": keys }),
    );
    assert_eq!(s, 201, "{started}");
    let holders: Vec<Holder> = pairs
        .iter()
        .map(|p| Holder::from_pem(&p.0).unwrap())
        .collect();
    // Custodians see which keys the new shares go to before they submit theirs.
    let shown: Vec<&str> = holders.iter().map(Holder::fingerprint).collect();
    assert_eq!(started["plan"]["share_key_fingerprints"], json!(shown));
    let nonce = started["nonce"].as_str().unwrap();
    let (s, _) = post(
        &kms,
        Some("carol"),
        "/v1/hsm/rekey/update",
        json!({ "nonce": nonce, "share": old[2] }),
    );
    assert_eq!(s, 200);
    let (s, done) = post(
        &kms,
        Some("bob"),
        "/v1/hsm/rekey/update",
        json!({ "nonce": nonce, "share": old[0] }),
    );
    assert_eq!((s, &done["complete"]), (200, &json!(true)), "{done}");
    assert!(done.get("shares_plain").is_none(), "{done}");
    let sealed = done["encrypted_shares"].as_array().unwrap();
    let mut new = Vec::new();
    for (i, s) in sealed.iter().enumerate() {
        let ct = s["ciphertext"].as_str().unwrap();
        for (j, h) in holders.iter().enumerate() {
            assert_eq!(
                h.open(ct).is_ok(),
                i == j,
                "new share {i} opened with key {j}"
            );
        }
        new.push(holders[i].open(ct).unwrap().expose().to_owned());
    }
    for text in strings(&done) {
        assert!(
            !new.contains(&text) && !old.contains(&text),
            "a share in plaintext: {done}"
        );
    }
    // The old shares no longer unseal; two new ones do; the master key (and the root token it
    // protects) is the same.
    assert!(!kms.restart_and_unseal(&old[..2]));
    assert!(kms.restart_and_unseal(&new[1..]));
    assert!(works(&kms, &root));
}

#[test]
fn generate_root_with_a_quorum_yields_a_token_only_its_key_holder_reads() {
    let kms = Sealed3::start();
    let old_root = kms.root();
    let (private, public) = key_pair();
    let (other_private, _) = key_pair();
    let (s, started) = post(
        &kms,
        Some("bob"),
        "/v1/hsm/generate-root/init",
        json!({ "public_key": public }),
    );
    assert_eq!(s, 201, "{started}");
    let holder = Holder::from_pem(&private).unwrap();
    assert_eq!(
        started["plan"]["public_key_fingerprint"],
        json!(holder.fingerprint())
    );
    let nonce = started["nonce"].as_str().unwrap();
    let (s, _) = post(
        &kms,
        Some("bob"),
        "/v1/hsm/generate-root/update",
        json!({ "nonce": nonce, "share": kms.share(1) }),
    );
    assert_eq!(s, 200);
    // The custodian whose share completes the quorum gets only the ciphertext.
    let (s, done) = post(
        &kms,
        Some("dave"),
        "/v1/hsm/generate-root/update",
        json!({ "nonce": nonce, "share": kms.share(2) }),
    );
    assert_eq!((s, &done["complete"]), (200, &json!(true)), "{done}");
    let ct = done["encrypted_root_token"]["ciphertext"].as_str().unwrap();
    assert!(Holder::from_pem(&other_private).unwrap().open(ct).is_err());
    let token = holder.open(ct).unwrap().expose().to_owned();
    assert!(!strings(&done).contains(&token), "{done}");
    assert!(
        works(&kms, &token),
        "the generated root token does not work"
    );
    // Every earlier root token is revoked.
    assert_eq!(done["revoked_root_tokens"], json!(1), "{done}");
    assert!(!works(&kms, &old_root), "the old root token still works");
    let (s, audit) = kms
        .server()
        .http()
        .get("/v1/admin/audit?action=generate_root", Some(&token));
    assert_eq!(s, 200, "{audit}");
    assert!(audit.to_string().contains(holder.fingerprint()), "{audit}");
}
