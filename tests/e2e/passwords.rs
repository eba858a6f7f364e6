//! Password keys through the API (docs/passwords.md), with the browser's side done here the way
//! WebCrypto does it: RSA-OAEP-SHA256 (empty label) over `{"p":password,"c":challenge}`.

use std::sync::Arc;

use kms_engine::clock::{ManualClock, Timestamp};
use rsa::pkcs8::DecodePublicKey;
use rsa::sha2::Sha256;
use rsa::{Oaep, PublicKey};
use serde_json::{Value, json};

use crate::support::{Http, ROOT, assert_error, b64, dev_server, dev_server_with, unb64};

/// Creates a password key and returns its description.
pub fn create_password_key(http: &Http, name: &str, algorithm: &str, protection: &str) -> Value {
    let (s, b) = http.post(
        "/v1/admin/keys",
        Some(ROOT),
        &json!({ "name": name, "algorithm": algorithm, "purpose": "password", "protection": protection }),
    );
    assert_eq!(s, 201, "{b}");
    b
}

/// What the browser does: fetch the public key and a challenge, encrypt password and challenge.
fn browser(http: &Http, token: &str, key: &str, password: &str) -> String {
    let challenge = challenge(http, token, key);
    seal(
        http,
        token,
        key,
        &json!({ "p": password, "c": challenge }).to_string(),
    )
}

fn challenge(http: &Http, token: &str, key: &str) -> String {
    let (s, b) = http.post(
        &format!("/v1/passwords/{key}/challenge"),
        Some(token),
        &json!({}),
    );
    assert_eq!(s, 200, "{b}");
    assert!(b["expires_at"].as_str().is_some(), "{b}");
    b["challenge"].as_str().unwrap().to_owned()
}

/// RSA-OAEP-SHA256 of `payload` to the key's current public key, base64.
fn seal(http: &Http, token: &str, key: &str, payload: &str) -> String {
    let (s, b) = http.get(&format!("/v1/passwords/{key}/public-key"), Some(token));
    assert_eq!(s, 200, "{b}");
    let public = PublicKey::from_public_key_pem(b["pem"].as_str().unwrap()).unwrap();
    b64(&public
        .encrypt(&mut rand::rng(), Oaep::<Sha256>::new(), payload.as_bytes())
        .unwrap())
}

fn protect(http: &Http, token: &str, key: &str, encrypted: &str, salt: &[u8]) -> (u16, Value) {
    http.post(
        &format!("/v1/passwords/{key}/protect"),
        Some(token),
        &json!({ "encrypted_password": encrypted, "salt": b64(salt) }),
    )
}

fn verify(
    http: &Http,
    token: &str,
    key: &str,
    encrypted: &str,
    salt: &[u8],
    protected: &str,
) -> (u16, Value) {
    http.post(
        &format!("/v1/passwords/{key}/verify"),
        Some(token),
        &json!({ "encrypted_password": encrypted, "salt": b64(salt), "protected": protected }),
    )
}

/// The browser's side and `verify` in one: a fresh blob for `password`, checked against
/// `protected`; returns the answer's body (200 asserted).
fn login(
    http: &Http,
    token: &str,
    key: &str,
    password: &str,
    salt: &[u8],
    protected: &str,
) -> Value {
    let blob = browser(http, token, key, password);
    let (s, b) = verify(http, token, key, &blob, salt, protected);
    assert_eq!(s, 200, "{b}");
    b
}

fn rotate(http: &Http, key: &str) {
    let (s, b) = http.post(
        &format!("/v1/admin/keys/{key}/rotate"),
        Some(ROOT),
        &json!({ "reason": "test" }),
    );
    assert_eq!(s, 200, "{b}");
}

#[test]
fn aead_password_keys_protect_verify_refuse_replays_and_rewrap() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    // The default algorithm of a password key is rsa-3072.
    let (s, key) = http.post(
        "/v1/admin/keys",
        Some(ROOT),
        &json!({ "name": "logins", "purpose": "password" }),
    );
    assert_eq!(s, 201, "{key}");
    assert_eq!(key["algorithm"], "rsa-3072");
    assert_eq!(key["purpose"], "password");
    assert_eq!(key["protection"], "aead");
    let app = http.create_app("web");
    http.grant("logins", "web", &["protect", "verify"]);

    let (s, pk) = http.get("/v1/passwords/logins/public-key", Some(&app));
    assert_eq!(s, 200, "{pk}");
    assert_eq!(pk["jwk"]["kty"], "RSA");
    assert_eq!(pk["jwk"]["alg"], "RSA-OAEP-256");
    assert_eq!(pk["jwk"]["e"], "AQAB");
    assert!(
        pk["pem"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );

    let salt = b"per-user salt";
    let blob = browser(&http, &app, "logins", "correct horse");
    let (s, b) = protect(&http, &app, "logins", &blob, salt);
    assert_eq!(s, 200, "{b}");
    let protected = b["protected"].as_str().unwrap().to_owned();
    assert!(protected.starts_with("kms:00001:"), "{protected}");
    assert!(!protected.contains("correct"));
    // The blob's challenge is spent: protecting it again is a replay.
    assert_error(
        &protect(&http, &app, "logins", &blob, salt),
        409,
        "challenge_reused",
    );

    let right = browser(&http, &app, "logins", "correct horse");
    let (s, b) = verify(&http, &app, "logins", &right, salt, &protected);
    assert_eq!((s, &b["match"]), (200, &json!(true)), "{b}");
    assert!(b.get("protected").is_none(), "{b}");
    // Replaying the accepted blob is refused, whatever the salt and value sent with it.
    assert_error(
        &verify(&http, &app, "logins", &right, salt, &protected),
        409,
        "challenge_reused",
    );
    let wrong = browser(&http, &app, "logins", "correct horsE");
    let (s, b) = verify(&http, &app, "logins", &wrong, salt, &protected);
    assert_eq!((s, &b["match"]), (200, &json!(false)), "{b}");
    // The right password with another user's salt does not match either.
    let other_salt = browser(&http, &app, "logins", "correct horse");
    let (_, b) = verify(
        &http,
        &app,
        "logins",
        &other_salt,
        b"other salt",
        &protected,
    );
    assert_eq!(b["match"], false, "{b}");

    // After a rotation the old value still verifies, and the answer carries it re-protected
    // under the active version.
    rotate(&http, "logins");
    let again = browser(&http, &app, "logins", "correct horse");
    let (s, b) = verify(&http, &app, "logins", &again, salt, &protected);
    assert_eq!((s, &b["match"]), (200, &json!(true)), "{b}");
    assert_eq!(b["key_version"], 1);
    let upgraded = b["protected"].as_str().unwrap();
    assert!(upgraded.starts_with("kms:00002:"), "{b}");
    let b = login(&http, &app, "logins", "correct horse", salt, upgraded);
    assert_eq!(b["match"], true, "{b}");

    // Rewrap needs its own grant; then moves the value to version 2.
    let body = json!({ "protected": protected });
    assert_error(
        &http.post("/v1/passwords/logins/rewrap", Some(&app), &body),
        403,
        "operation_not_granted",
    );
    http.grant("logins", "web", &["protect", "verify", "rewrap"]);
    let (s, b) = http.post("/v1/passwords/logins/rewrap", Some(&app), &body);
    assert_eq!(s, 200, "{b}");
    let rewrapped = b["protected"].as_str().unwrap();
    assert!(rewrapped.starts_with("kms:00002:"), "{b}");
    assert_ne!(rewrapped, upgraded);
    let b = login(&http, &app, "logins", "correct horse", salt, rewrapped);
    assert_eq!(b["match"], true, "{b}");

    // The password key's private half is not reachable through the generic data endpoints.
    let ct = b64(b"x");
    assert_error(
        &http.post(
            "/v1/keys/logins/decrypt",
            Some(ROOT),
            &json!({ "ciphertext": format!("kms:00001:{ct}") }),
        ),
        400,
        "operation_not_supported",
    );
    assert_error(
        &http.post(
            "/v1/keys/logins/encrypt",
            Some(ROOT),
            &json!({ "plaintext": ct }),
        ),
        400,
        "operation_not_supported",
    );
    // An app without any grant gets nothing, not even the public key or a challenge.
    let stranger = http.create_app("stranger");
    assert_error(
        &http.get("/v1/passwords/logins/public-key", Some(&stranger)),
        403,
        "operation_not_granted",
    );
    assert_error(
        &http.post(
            "/v1/passwords/logins/challenge",
            Some(&stranger),
            &json!({}),
        ),
        403,
        "operation_not_granted",
    );
    server.stop();
}

#[test]
fn hash_password_keys_verify_and_move_forward_on_login_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    let key = create_password_key(&http, "pins", "rsa-2048", "hash");
    assert_eq!(key["protection"], "hash");
    let salt = b"s";
    let (s, b) = protect(
        &http,
        ROOT,
        "pins",
        &browser(&http, ROOT, "pins", "123456"),
        salt,
    );
    assert_eq!(s, 200, "{b}");
    let protected = b["protected"].as_str().unwrap().to_owned();
    // HMAC-SHA256: 32 bytes after the header.
    assert_eq!(unb64(&protected[10..]).len(), 32);
    // The same password and salt protect to the same value (deterministic), another salt not.
    let (_, b) = protect(
        &http,
        ROOT,
        "pins",
        &browser(&http, ROOT, "pins", "123456"),
        salt,
    );
    assert_eq!(b["protected"], protected.as_str());
    let (_, b) = protect(
        &http,
        ROOT,
        "pins",
        &browser(&http, ROOT, "pins", "123456"),
        b"t",
    );
    assert_ne!(b["protected"], protected.as_str());

    let b = login(&http, ROOT, "pins", "123457", salt, &protected);
    assert_eq!(b["match"], false, "{b}");
    assert_error(
        &http.post(
            "/v1/passwords/pins/rewrap",
            Some(ROOT),
            &json!({ "protected": protected }),
        ),
        400,
        "operation_not_supported",
    );
    rotate(&http, "pins");
    let b = login(&http, ROOT, "pins", "123456", salt, &protected);
    assert_eq!(b["match"], true, "{b}");
    assert!(
        b["protected"].as_str().unwrap().starts_with("kms:00002:"),
        "{b}"
    );
    server.stop();
}

#[test]
fn bad_password_input_gets_its_own_codes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_800_000_000_000)));
    let c = Arc::clone(&clock);
    let server = dev_server_with(dir.path(), move |o| o.clock = c);
    let http = Http::new(&server);
    create_password_key(&http, "a", "rsa-2048", "aead");
    create_password_key(&http, "b", "rsa-2048", "aead");
    create_password_key(&http, "big", "rsa-3072", "aead");
    http.create_key("cards");
    let salt = b"salt";
    let good = browser(&http, ROOT, "a", "pw");
    let bytes = unb64(&good);
    // `protect` with `blob` on `key` is refused with `status` and `code`.
    let refused = |key: &str, blob: &str, status: u16, code: &str| {
        assert_error(&protect(&http, ROOT, key, blob, salt), status, code);
    };

    // Wrong padding: a flipped bit fails RSA-OAEP's check.
    let mut flipped = bytes.clone();
    flipped[100] ^= 0x01;
    refused("a", &b64(&flipped), 400, "password_decryption_failed");
    // PKCS#1 v1.5 padding instead of OAEP.
    let (_, pk) = http.get("/v1/passwords/a/public-key", Some(ROOT));
    let public = PublicKey::from_public_key_pem(pk["pem"].as_str().unwrap()).unwrap();
    let v15 = public
        .encrypt(
            &mut rand::rng(),
            rsa::Pkcs1v15Encrypt,
            br#"{"p":"pw","c":"x"}"#,
        )
        .unwrap();
    refused("a", &b64(&v15), 400, "password_decryption_failed");
    // Oversized input.
    let mut long = bytes.clone();
    long.extend_from_slice(&[0u8; 100]);
    refused("a", &b64(&long), 400, "encrypted_password_too_large");
    // Another key's blob: of the same size it cannot be told from bad padding (RSA-OAEP), of
    // another size it is refused by its length.
    let for_b = browser(&http, ROOT, "b", "pw");
    refused("a", &for_b, 400, "password_decryption_failed");
    let for_a = browser(&http, ROOT, "a", "pw");
    refused("big", &for_a, 400, "encrypted_password_length");
    // Encrypted to this key, but with a challenge issued for another key.
    let b_challenge = challenge(&http, ROOT, "b");
    let cross = seal(
        &http,
        ROOT,
        "a",
        &json!({ "p": "pw", "c": b_challenge }).to_string(),
    );
    refused("a", &cross, 400, "challenge_wrong_key");
    // A challenge never issued, and a payload that is not the expected JSON.
    let made_up = seal(
        &http,
        ROOT,
        "a",
        &json!({ "p": "pw", "c": "bm9wZQ==" }).to_string(),
    );
    refused("a", &made_up, 400, "challenge_unknown");
    let raw = seal(&http, ROOT, "a", "pw");
    refused("a", &raw, 400, "invalid_password_payload");
    // An expired challenge (two minutes), and a reused one.
    let late = browser(&http, ROOT, "a", "pw");
    clock.advance_millis(120_001);
    refused("a", &late, 400, "challenge_expired");
    refused("a", &good, 400, "challenge_expired");
    let fresh = browser(&http, ROOT, "a", "pw");
    let (s, b) = protect(&http, ROOT, "a", &fresh, salt);
    assert_eq!(s, 200, "{b}");
    let protected = b["protected"].as_str().unwrap().to_owned();
    refused("a", &fresh, 409, "challenge_reused");

    // Malformed fields.
    assert_error(
        &protect(&http, ROOT, "a", "not base64!", salt),
        400,
        "invalid_base64",
    );
    let next = browser(&http, ROOT, "a", "pw");
    assert_error(&protect(&http, ROOT, "a", &next, b""), 400, "invalid_salt");
    assert_error(
        &protect(&http, ROOT, "a", &next, &[7u8; 256]),
        400,
        "invalid_salt",
    );
    assert_error(
        &verify(&http, ROOT, "a", &next, salt, "kms:0001:x"),
        400,
        "invalid_protected",
    );
    assert_error(
        &verify(&http, ROOT, "a", &next, salt, "kms:00009:AAAA"),
        400,
        "key_version_not_found",
    );
    // The challenge was not spent by those refusals of the stored value.
    let (_, b) = verify(&http, ROOT, "a", &next, salt, &protected);
    assert_eq!(b["match"], true, "{b}");
    // A value of another password key (its id is bound into the value) does not open here.
    let (_, b) = protect(&http, ROOT, "b", &browser(&http, ROOT, "b", "pw"), salt);
    let of_b = b["protected"].as_str().unwrap();
    let blob = browser(&http, ROOT, "a", "pw");
    assert_error(
        &verify(&http, ROOT, "a", &blob, salt, of_b),
        400,
        "decryption_failed",
    );
    assert_error(
        &http.post(
            "/v1/passwords/a/verify",
            Some(ROOT),
            &json!({ "encrypted_password": next }),
        ),
        400,
        "invalid_json",
    );
    // Without --demo-key there is no demo.
    assert_error(&http.get("/demo/login", None), 404, "not_found");
    assert_error(
        &http.post("/demo/api/challenge", None, &json!({})),
        404,
        "not_found",
    );
    // Password endpoints on a general key; password options on the wrong kind of key.
    assert_error(
        &http.post("/v1/passwords/cards/challenge", Some(ROOT), &json!({})),
        400,
        "not_a_password_key",
    );
    assert_error(
        &http.get("/v1/passwords/nope/public-key", Some(ROOT)),
        404,
        "key_not_found",
    );
    let create = |body: Value| http.post("/v1/admin/keys", Some(ROOT), &body);
    assert_error(
        &create(json!({ "name": "x", "purpose": "password", "algorithm": "aes-256-gcm" })),
        400,
        "invalid_request",
    );
    assert_error(
        &create(json!({ "name": "x", "protection": "hash" })),
        400,
        "invalid_request",
    );
    assert_error(
        &create(json!({ "name": "x", "purpose": "password", "protection": "argon" })),
        400,
        "invalid_request",
    );
    assert_error(
        &create(json!({ "name": "x", "purpose": "login" })),
        400,
        "invalid_request",
    );
    server.stop();
}

/// One app asks for challenges in a loop to fill the node's table so that
/// nobody else can log in. It is stopped at its own share (429 `challenge_quota_exceeded` with
/// `Retry-After`), and another app on the same key, and another key, still get challenges.
#[test]
fn one_app_cannot_exhaust_the_challenge_table_for_everyone() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server_with(dir.path(), |o| {
        o.limits.challenges_per_app = 5;
        o.limits.challenges_per_key = 7;
    });
    let http = Http::new(&server);
    create_password_key(&http, "logins", "rsa-2048", "hash");
    create_password_key(&http, "pins", "rsa-2048", "hash");
    let greedy = http.create_app("greedy");
    let web = http.create_app("web");
    let other = http.create_app("other");
    for (key, app) in [("logins", "greedy"), ("logins", "web"), ("pins", "other")] {
        http.grant(key, app, &["verify"]);
    }
    let ask = |token: &str, key: &str| {
        http.post(
            &format!("/v1/passwords/{key}/challenge"),
            Some(token),
            &json!({}),
        )
    };
    let mut refused = None;
    for _ in 0..1000 {
        let answer = ask(&greedy, "logins");
        if answer.0 != 200 {
            refused = Some(answer);
            break;
        }
    }
    let refused = refused.expect("the greedy app was never refused");
    assert_error(&refused, 429, "challenge_quota_exceeded");
    // Its share, not the table, stopped it: the other app on the same key still gets one, and
    // so does an app on another key.
    assert_eq!(ask(&web, "logins").0, 200);
    assert_eq!(ask(&other, "pins").0, 200);
    assert_error(&ask(&greedy, "logins"), 429, "challenge_quota_exceeded");
    // The key's own share bounds many apps together; other keys are untouched.
    let (s, _) = ask(&web, "logins");
    assert_eq!(s, 200);
    assert_error(&ask(&web, "logins"), 429, "challenge_quota_exceeded");
    assert_eq!(ask(&other, "pins").0, 200);
}
