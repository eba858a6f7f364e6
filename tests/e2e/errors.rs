//! Bad input gets a clear 4xx with its own stable code, and the server keeps serving.

use serde_json::json;

use crate::support::*;

#[test]
fn bad_ciphertexts_each_get_their_own_code() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    http.create_key("pan");
    let token = http.create_app("shop");
    http.grant("pan", "shop", &["encrypt", "decrypt"]);
    let ct = http.seal(&token, "pan", b"4000123412341234", Some(b"order-1"));
    let body = &ct["kms:00001:".len()..];

    // Tampered: one bit of the body flipped.
    let mut raw = unb64(body);
    raw[14] ^= 0x01;
    let tampered = format!("kms:00001:{}", b64(&raw));
    assert_error(
        &http.decrypt(&token, "pan", &tampered, Some(b"order-1")),
        400,
        "decryption_failed",
    );

    // Truncated: shorter than a nonce and a tag.
    let truncated = format!("kms:00001:{}", b64(&unb64(body)[..20]));
    assert_error(
        &http.decrypt(&token, "pan", &truncated, Some(b"order-1")),
        400,
        "ciphertext_truncated",
    );

    // Re-headed to a version that does not exist, and (after a rotation) to one that does.
    let reheaded = ct.replacen("kms:00001:", "kms:00002:", 1);
    assert_error(
        &http.decrypt(&token, "pan", &reheaded, Some(b"order-1")),
        400,
        "key_version_not_found",
    );
    let (s, _) = http.post(
        "/v1/admin/keys/pan/rotate",
        Some(ROOT),
        &json!({ "reason": "test" }),
    );
    assert_eq!(s, 200);
    assert_error(
        &http.decrypt(&token, "pan", &reheaded, Some(b"order-1")),
        400,
        "decryption_failed",
    );

    // Not our header at all.
    for bad in ["vault:v1:abcd", "kms:1:abcd", "kms:00000:AAAA", ""] {
        assert_error(
            &http.decrypt(&token, "pan", bad, None),
            400,
            "invalid_ciphertext",
        );
    }

    // Bad base64 in the ciphertext, the plaintext and the context.
    assert_error(
        &http.decrypt(&token, "pan", "kms:00001:!!!!", None),
        400,
        "invalid_base64",
    );
    let (s, b) = http.post(
        "/v1/keys/pan/encrypt",
        Some(&token),
        &json!({ "plaintext": "%%" }),
    );
    assert_error(&(s, b), 400, "invalid_base64");
    let (s, b) = http.post(
        "/v1/keys/pan/encrypt",
        Some(&token),
        &json!({ "plaintext": "", "context": "@" }),
    );
    assert_error(&(s, b), 400, "invalid_base64");

    // Wrong context.
    assert_error(
        &http.decrypt(&token, "pan", &ct, Some(b"order-2")),
        400,
        "decryption_failed",
    );

    // Another key's ciphertext.
    http.create_key("other");
    http.grant("other", "shop", &["decrypt"]);
    assert_error(
        &http.decrypt(&token, "other", &ct, Some(b"order-1")),
        400,
        "decryption_failed",
    );

    // Unknown key: an administrator learns it does not exist; an app learns only that it holds
    // no grant, so it cannot probe for key names.
    assert_error(
        &http.decrypt(ROOT, "no-such-key", &ct, None),
        404,
        "key_not_found",
    );
    assert_error(
        &http.decrypt(&token, "no-such-key", &ct, None),
        403,
        "operation_not_granted",
    );

    // After all that, the original still decrypts.
    assert_eq!(
        http.open(&token, "pan", &ct, Some(b"order-1")),
        b"4000123412341234"
    );
}

#[test]
fn malformed_requests_get_json_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = dev_options(dir.path());
    opts.limits.body_bytes = 4096;
    let server = kms::testing::RunningServer::start(opts).unwrap();
    let http = Http::new(&server);
    http.create_key("k");

    let path = "/v1/keys/k/encrypt";
    let (s, b, _) = http.post_raw(path, Some(ROOT), "application/json", b"{not json".to_vec());
    assert_error(&(s, b), 400, "invalid_json");
    let (s, b, _) = http.post_raw(
        path,
        Some(ROOT),
        "application/json",
        br#"{"plaintext":"","extra":1}"#.to_vec(),
    );
    assert_error(&(s, b), 400, "invalid_json");
    let (s, b, _) = http.post_raw(
        path,
        Some(ROOT),
        "application/json",
        br#"{"context":""}"#.to_vec(),
    );
    assert_error(&(s, b), 400, "plaintext_fields");
    let (s, b, _) = http.post_raw(path, Some(ROOT), "application/json", b"{}".to_vec());
    assert_error(&(s, b), 400, "plaintext_fields");
    // A body over the limit is refused before it is parsed, and the answer states the limit.
    let huge = format!(r#"{{"plaintext":"{}"}}"#, "A".repeat(8192));
    let (s, b, _) = http.post_raw(path, Some(ROOT), "application/json", huge.into_bytes());
    let too_large = (s, b);
    assert_error(&too_large, 413, "payload_too_large");
    let message = too_large.1["error"]["message"].as_str().unwrap();
    assert!(message.contains("4096 bytes"), "{message}");
    // Form-encoded content type with a JSON body: accepted (curl -d sends that).
    let (s, b, _) = http.post_raw(
        path,
        Some(ROOT),
        "application/x-www-form-urlencoded",
        br#"{"plaintext":"aGk="}"#.to_vec(),
    );
    assert_eq!(s, 200, "{b}");

    // Paths and methods.
    assert_error(
        &http.get("/v1/keys/k/encrypt", Some(ROOT)),
        405,
        "method_not_allowed",
    );
    assert_error(&http.get("/v1/nothing-here", Some(ROOT)), 404, "not_found");

    // Admin input.
    let create = |body: serde_json::Value| http.post("/v1/admin/keys", Some(ROOT), &body);
    assert_error(&create(json!({ "name": "bad name" })), 400, "invalid_name");
    let des = create(json!({ "name": "x", "algorithm": "des" }));
    assert_error(&des, 400, "unsupported_algorithm");
    // The answer lists what would have worked.
    let message = des.1["error"]["message"].as_str().unwrap();
    for valid in ["aes-256-gcm", "chacha20-poly1305", "ed25519", "hmac-sha256"] {
        assert!(message.contains(valid), "{message}");
    }
    assert_error(&create(json!({ "name": "k" })), 409, "key_exists");
    let (s, b) = http.post("/v1/admin/apps", Some(ROOT), &json!({ "name": "a" }));
    assert_eq!(s, 201, "{b}");
    assert_error(
        &http.post("/v1/admin/apps", Some(ROOT), &json!({ "name": "a" })),
        409,
        "app_exists",
    );
    let grant = |body: serde_json::Value| http.post("/v1/admin/keys/k/grants", Some(ROOT), &body);
    assert_error(
        &grant(json!({ "app": "ghost", "operations": ["encrypt"] })),
        404,
        "app_not_found",
    );
    assert_error(
        &grant(json!({ "app": "a", "operations": ["launch"] })),
        400,
        "unknown_operation",
    );
    assert_error(
        &http.post(
            "/v1/admin/keys/missing/grants",
            Some(ROOT),
            &json!({ "app": "a", "operations": [] }),
        ),
        404,
        "key_not_found",
    );
    let missing = http.get("/v1/admin/keys/missing", Some(ROOT));
    assert_error(&missing, 404, "key_not_found");
    // The name asked for is in the answer: a typo is plain to see.
    assert_eq!(missing.1["error"]["message"], "key not found: missing");
    assert_error(
        &http.post(
            "/v1/admin/keys/missing/rotate",
            Some(ROOT),
            &json!({ "reason": "r" }),
        ),
        404,
        "key_not_found",
    );

    // The server is still fine.
    let (s, _) = http.get("/healthz", None);
    assert_eq!(s, 200);
}
