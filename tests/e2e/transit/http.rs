//! Vault's HTTP shapes without a client library in between: the envelope, errors and their
//! status codes, batches, LIST, the audit records and metrics of Transit requests.

use kms_engine::audit::Outcome;
use serde_json::{Value, json};

use super::{assert_vault_error, vault_call};
use crate::access::audit;
use crate::observability::{sample, scrape};
use crate::support::*;

#[test]
fn the_envelope_errors_batches_and_list_speak_vaults_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let base = server.url("");
    let call = |method: &str, path: &str, token: Option<&str>, body: Option<Value>| {
        vault_call(
            &base,
            method,
            &format!("/v1/transit{path}"),
            token,
            body.as_ref(),
        )
    };

    // No keys yet: LIST is a 404, as in Vault.
    assert_eq!(call("LIST", "/keys", Some(ROOT), None).0, 404);
    let created = call(
        "POST",
        "/keys/cards",
        Some(ROOT),
        Some(json!({"unknown": 1})),
    );
    assert_eq!(created.0, 200, "{}", created.1);
    // The envelope, with the ignored parameter named in `warnings`.
    let b = &created.1;
    assert_eq!(b["request_id"].as_str().unwrap().len(), 36, "{b}");
    assert_eq!(b["lease_id"], "");
    assert_eq!(b["renewable"], false);
    assert_eq!(b["lease_duration"], 0);
    assert_eq!(b["wrap_info"], Value::Null);
    assert_eq!(b["auth"], Value::Null);
    assert_eq!(
        b["warnings"],
        json!(["Endpoint ignored these unrecognized parameters: [unknown]"])
    );
    assert_eq!(b["data"]["type"], "aes256-gcm96");
    assert_eq!(b["data"]["latest_version"], 1);

    // LIST and GET ?list=true; a GET without it is not a listing.
    for got in [
        call("LIST", "/keys", Some(ROOT), None),
        call("GET", "/keys?list=true", Some(ROOT), None),
        call("LIST", "/keys/", Some(ROOT), None),
    ] {
        assert_eq!(got.0, 200, "{}", got.1);
        assert_eq!(got.1["data"]["keys"], json!(["cards"]));
    }
    assert_vault_error(
        &call("GET", "/keys", Some(ROOT), None),
        405,
        "method_not_allowed",
    );
    // An unknown path under the mount: Vault's 404 with no errors.
    let unknown = call("POST", "/nope/cards", Some(ROOT), Some(json!({})));
    assert_eq!(unknown, (404, json!({ "errors": [] })));

    // Tokens: X-Vault-Token (above) or Bearer; none or a wrong one is 403, as in Vault.
    let bearer = Http::new(&server).post(
        "/v1/transit/encrypt/cards",
        Some(ROOT),
        &json!({ "plaintext": b64(b"x") }),
    );
    assert_eq!(bearer.0, 200, "{}", bearer.1);
    assert!(
        bearer.1["data"]["ciphertext"]
            .as_str()
            .unwrap()
            .starts_with("vault:v1:")
    );
    // Answers that may hold plaintext are not to be cached, as Vault marks them.
    let r = ureq::post(&format!("{base}/v1/transit/encrypt/cards"))
        .header("X-Vault-Token", ROOT)
        .send_json(json!({ "plaintext": b64(b"x") }))
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    let plaintext = Some(json!({ "plaintext": b64(b"x") }));
    assert_vault_error(
        &call("POST", "/encrypt/cards", None, plaintext.clone()),
        403,
        "missing_token",
    );
    assert_vault_error(
        &call("POST", "/encrypt/cards", Some("wrong"), plaintext.clone()),
        403,
        "invalid_token",
    );
    // An app gets what its grants allow, through its own token.
    let http = Http::new(&server);
    let app = http.create_app("checkout");
    http.grant("cards", "checkout", &["encrypt"]);
    let ct = call("POST", "/encrypt/cards", Some(&app), plaintext.clone());
    assert_eq!(ct.0, 200, "{}", ct.1);
    let ct = ct.1["data"]["ciphertext"].as_str().unwrap().to_owned();
    assert_vault_error(
        &call(
            "POST",
            "/decrypt/cards",
            Some(&app),
            Some(json!({ "ciphertext": ct })),
        ),
        403,
        "operation_not_granted",
    );
    // Encrypt creates a missing key for an administrator, of the type asked for (Vault's upsert);
    // an application gets the same 403 as for a key it holds no grant on.
    assert_vault_error(
        &call("POST", "/encrypt/fresh", Some(&app), plaintext.clone()),
        403,
        "operation_not_granted",
    );
    let upsert = call(
        "POST",
        "/encrypt/fresh",
        Some(ROOT),
        Some(json!({ "plaintext": b64(b"x"), "type": "chacha20-poly1305" })),
    );
    assert_eq!(upsert.0, 200, "{}", upsert.1);
    let fresh = call("GET", "/keys/fresh", Some(ROOT), None);
    assert_eq!(fresh.1["data"]["type"], "chacha20-poly1305", "{}", fresh.1);
    // Key management is for administrators.
    assert_vault_error(
        &call("POST", "/keys/cards/rotate", Some(&app), None),
        403,
        "forbidden",
    );
    // Key management is authorised and audited under its own action names.
    let log = audit(&server, "app:checkout");
    assert!(
        log.iter().any(|r| r.event.action == "transit_rotate_key"
            && r.event.outcome == Outcome::Denied
            && r.event.target.as_deref() == Some("key:cards")),
        "{log:?}"
    );
    let log = audit(&server, "root:dev");
    assert!(
        log.iter().any(|r| r.event.action == "transit_create_key"
            && r.event.outcome == Outcome::Success
            && r.event.target.as_deref() == Some("key:fresh")),
        "{log:?}"
    );
    // Reading a missing key is Vault's 404 with no error line; any other call on it a 400.
    assert_eq!(
        call("GET", "/keys/none", Some(ROOT), None),
        (404, json!({ "errors": [] }))
    );
    assert_vault_error(
        &call("POST", "/keys/none/rotate", Some(ROOT), None),
        400,
        "key_not_found",
    );
    // Bad input: 400 with the stable code.
    assert_vault_error(
        &call(
            "POST",
            "/encrypt/cards",
            Some(ROOT),
            Some(json!({ "plaintext": "not base64!" })),
        ),
        400,
        "invalid_base64",
    );
    assert_vault_error(
        &call(
            "POST",
            "/decrypt/cards",
            Some(ROOT),
            Some(json!({ "ciphertext": "vault:1:abc" })),
        ),
        400,
        "invalid_ciphertext",
    );
    assert_vault_error(
        &call("POST", "/keys/bad%20name", Some(ROOT), None),
        400,
        "invalid_name",
    );
    let cmac = call(
        "POST",
        "/keys/x",
        Some(ROOT),
        Some(json!({ "type": "aes256-cmac" })),
    );
    assert_vault_error(&cmac, 400, "unsupported_algorithm");
    // The answer lists Vault's type names, not the native API's.
    let message = cmac.1["errors"][0].as_str().unwrap();
    assert!(
        message.contains("aes256-gcm96") && !message.contains("aes-256-gcm"),
        "{message}"
    );
    let raw = vault_call(&base, "POST", "/v1/transit/encrypt/cards", Some(ROOT), None);
    assert_vault_error(&raw, 400, "invalid_request");

    // Batches: results in order, references echoed; any failed item makes it a 400 ...
    let batch = json!({ "batch_input": [
        { "plaintext": b64(b"a"), "reference": "r1" },
        { "plaintext": "not base64!", "reference": "r2" },
        { "plaintext": b64(b"c"), "associated_data": b64(b"ad") },
    ]});
    let got = call("POST", "/encrypt/cards", Some(ROOT), Some(batch.clone()));
    assert_eq!(got.0, 400, "{}", got.1);
    let results = got.1["data"]["batch_results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["reference"], "r1");
    assert!(
        results[0]["ciphertext"]
            .as_str()
            .unwrap()
            .starts_with("vault:v1:")
    );
    assert_eq!(results[1]["reference"], "r2");
    // No reference sent: Vault's `""`.
    assert_eq!(results[2]["reference"], "");
    assert!(
        results[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid_base64: ")
    );
    // ... unless partial_failure_response_code says otherwise when some succeeded.
    let mut partial = batch.clone();
    partial["partial_failure_response_code"] = json!(207);
    assert_eq!(
        call("POST", "/encrypt/cards", Some(ROOT), Some(partial)).0,
        207
    );
    // A batch decrypt of the good ones is a 200, in order.
    let decrypt = json!({ "batch_input": [
        { "ciphertext": results[2]["ciphertext"], "associated_data": b64(b"ad") },
        { "ciphertext": results[0]["ciphertext"] },
    ]});
    let got = call("POST", "/decrypt/cards", Some(ROOT), Some(decrypt));
    assert_eq!(got.0, 200, "{}", got.1);
    let plain: Vec<Vec<u8>> = got.1["data"]["batch_results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| unb64(r["plaintext"].as_str().unwrap()))
        .collect();
    assert_eq!(plain, [b"c".to_vec(), b"a".to_vec()]);
    assert_vault_error(
        &call(
            "POST",
            "/encrypt/cards",
            Some(ROOT),
            Some(json!({ "batch_input": [] })),
        ),
        400,
        "invalid_request",
    );

    // Transit requests are counted like native ones, a single request's failure by its code.
    // (A key name of its own: the metrics recorder is shared by every server in this process.)
    call("POST", "/keys/transit-metered", Some(ROOT), None);
    let sealed = call(
        "POST",
        "/encrypt/transit-metered",
        Some(ROOT),
        Some(json!({ "plaintext": b64(b"m"), "associated_data": b64(b"a") })),
    );
    let ct = sealed.1["data"]["ciphertext"].clone();
    assert_vault_error(
        &call(
            "POST",
            "/decrypt/transit-metered",
            Some(ROOT),
            Some(json!({ "ciphertext": ct })),
        ),
        400,
        "decryption_failed",
    );
    let text = scrape(&server);
    for (operation, outcome) in [("encrypt", "ok"), ("decrypt", "decryption_failed")] {
        let labels = [
            ("operation", operation),
            ("key", "transit-metered"),
            ("outcome", outcome),
        ];
        assert_eq!(
            sample(&text, "kms_requests_total", &labels),
            Some(1.0),
            "{text}"
        );
    }

    // Operations the key cannot do, and options this KMS does not offer, are refused.
    assert_vault_error(
        &call(
            "POST",
            "/sign/cards",
            Some(ROOT),
            Some(json!({ "input": b64(b"m") })),
        ),
        400,
        "operation_not_supported",
    );
    assert_vault_error(
        &call(
            "POST",
            "/encrypt/cards",
            Some(ROOT),
            Some(json!({ "plaintext": b64(b"m"), "key_version": 7 })),
        ),
        400,
        "invalid_request",
    );
    // What takes material out passes the approval rules: the root token (the bootstrap
    // credential) runs it at once (transit/approved.rs: a person's call waits for a quorum).
    // `allow_plaintext_backup` and `exportable` may be turned on, never off, as in Vault.
    let allowed = call(
        "POST",
        "/keys/cards/config",
        Some(ROOT),
        Some(json!({ "allow_plaintext_backup": true, "exportable": true })),
    );
    assert_eq!(allowed.0, 200, "{}", allowed.1);
    assert_eq!(allowed.1["data"]["allow_plaintext_backup"], true);
    assert_eq!(allowed.1["data"]["exportable"], true);
    assert_vault_error(
        &call(
            "POST",
            "/keys/cards/config",
            Some(ROOT),
            Some(json!({ "allow_plaintext_backup": false })),
        ),
        400,
        "conflict",
    );
    for path in [
        "/export/encryption-key/cards",
        "/export/hmac-key/cards/1",
        "/backup/cards",
    ] {
        let got = call("GET", path, Some(ROOT), None);
        assert_eq!(got.0, 200, "{path}: {}", got.1);
    }
    assert_vault_error(
        &call("GET", "/export/signing-key/cards", Some(ROOT), None),
        400,
        "invalid_request",
    );
    assert_vault_error(
        &call("POST", "/restore", Some(ROOT), None),
        400,
        "invalid_request",
    );
    assert_vault_error(
        &call(
            "POST",
            "/restore/cards",
            Some(ROOT),
            Some(json!({ "backup": b64(b"{}") })),
        ),
        400,
        "invalid_backup",
    );
    assert_vault_error(
        &call(
            "POST",
            "/hash/whirlpool",
            Some(ROOT),
            Some(json!({ "input": b64(b"m") })),
        ),
        400,
        "invalid_request",
    );
    assert_vault_error(
        &call("POST", "/encrypt/cards", Some(ROOT), Some(json!([1]))),
        400,
        "invalid_json",
    );
}

/// Transit MACs with any key: an application granted `hmac` on an AES key MACs and verifies
/// through Transit with the version's own HMAC key, never the key that encrypts; the native API's
/// `hmac` stays with HMAC keys.
#[test]
fn an_app_macs_with_an_aes_key_through_transit() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let base = server.url("");
    let http = Http::new(&server);
    http.create_key("orders");
    let app = http.create_app("mac-app");
    http.grant("orders", "mac-app", &["hmac"]);
    let call = |path: &str, body: Value| {
        vault_call(
            &base,
            "POST",
            &format!("/v1/transit{path}"),
            Some(&app),
            Some(&body),
        )
    };
    let mac = call("/hmac/orders/sha2-512", json!({ "input": b64(b"order 1") }));
    assert_eq!(mac.0, 200, "{}", mac.1);
    let tag = mac.1["data"]["hmac"].as_str().unwrap().to_owned();
    assert!(tag.starts_with("vault:v1:"), "{tag}");
    // SHA-512: 64 bytes.
    assert_eq!(unb64(&tag["vault:v1:".len()..]).len(), 64);
    for (input, valid) in [
        (b"order 1".as_slice(), true),
        (b"order 2".as_slice(), false),
    ] {
        let got = call(
            "/verify/orders/sha2-512",
            json!({ "input": b64(input), "hmac": tag }),
        );
        assert_eq!(got.1["data"]["valid"], valid, "{}", got.1);
    }
    // The same input under SHA-256 is another MAC, and encrypting is not granted.
    let sha256 = call("/hmac/orders", json!({ "input": b64(b"order 1") }));
    assert_ne!(sha256.1["data"]["hmac"], tag.as_str());
    assert_vault_error(
        &call("/encrypt/orders", json!({ "plaintext": b64(b"x") })),
        403,
        "operation_not_granted",
    );
    assert_error(
        &http.post(
            "/v1/keys/orders/hmac",
            Some(&app),
            &json!({ "input": b64(b"order 1") }),
        ),
        400,
        "operation_not_supported",
    );
}

/// A Transit encrypt the fast path hands to the general path (here: a derived key's encrypt
/// without its context) is charged once to the key's rate limit and answered for what is wrong
/// with it; it was charged on both paths, so with a burst of one it was refused `429` for a
/// quota only the handover had used, instead of `400` naming the missing context.
#[test]
fn a_request_handed_from_the_fast_path_is_charged_once_to_the_rate_limit() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let base = server.url("");
    let http = Http::new(&server);
    let created = vault_call(
        &base,
        "POST",
        "/v1/transit/keys/tenants",
        Some(ROOT),
        Some(&json!({ "derived": true })),
    );
    assert_eq!(created.0, 200, "{}", created.1);
    let policy = http.post(
        "/v1/admin/keys/tenants/policy",
        Some(ROOT),
        &json!({ "rate_limit": { "per_second": 1, "burst": 1 } }),
    );
    assert_eq!(policy.0, 200, "{}", policy.1);
    let app = http.create_app("tenant-app");
    http.grant("tenants", "tenant-app", &["encrypt"]);
    let encrypt = |body: Value| {
        vault_call(
            &base,
            "POST",
            "/v1/transit/encrypt/tenants",
            Some(&app),
            Some(&body),
        )
    };
    // Without its context: the general path's 400, not the limiter's 429.
    let missing = encrypt(json!({ "plaintext": b64(b"x") }));
    assert_eq!(missing.0, 400, "{}", missing.1);
    assert!(missing.1.to_string().contains("context"), "{}", missing.1);
    // The limit holds: that request used the second's one call.
    let next = encrypt(json!({ "plaintext": b64(b"x"), "context": b64(b"tenant-1") }));
    assert_eq!(next.0, 429, "{}", next.1);
    // A second later a correct request passes.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let later = encrypt(json!({ "plaintext": b64(b"x"), "context": b64(b"tenant-1") }));
    assert_eq!(later.0, 200, "{}", later.1);
}
