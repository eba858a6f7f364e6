//! Encrypt and decrypt as an application does.

use serde_json::json;

use crate::support::*;

#[test]
fn round_trip_with_and_without_context() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    http.create_key("cards");
    let token = http.create_app("billing");
    http.grant("cards", "billing", &["encrypt", "decrypt"]);

    let pan = b"4111111111111111";
    let plain = http.seal(&token, "cards", pan, None);
    assert!(plain.starts_with("kms:00001:"), "{plain}");
    assert_eq!(http.open(&token, "cards", &plain, None), pan);

    let bound = http.seal(&token, "cards", pan, Some(b"customer-42"));
    assert_eq!(
        http.open(&token, "cards", &bound, Some(b"customer-42")),
        pan
    );
    // Without the context, or with another one, it does not open.
    assert_error(
        &http.decrypt(&token, "cards", &bound, None),
        400,
        "decryption_failed",
    );
    assert_error(
        &http.decrypt(&token, "cards", &bound, Some(b"customer-43")),
        400,
        "decryption_failed",
    );

    // Empty plaintext is a valid plaintext.
    let empty = http.seal(&token, "cards", b"", None);
    assert_eq!(http.open(&token, "cards", &empty, None), b"");
    // The same plaintext twice gives two different ciphertexts (random nonces).
    assert_ne!(
        http.seal(&token, "cards", pan, None),
        http.seal(&token, "cards", pan, None)
    );
    // The dev root token may call the data endpoints too.
    assert_eq!(http.open(ROOT, "cards", &plain, None), pan);
}

#[test]
fn rotation_keeps_old_ciphertexts_readable_and_new_ones_use_the_new_version() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    http.create_key("tokens");
    let token = http.create_app("vault-app");
    http.grant("tokens", "vault-app", &["encrypt", "decrypt"]);
    let old = http.seal(&token, "tokens", b"before", Some(b"ctx"));

    let (s, key) = http.post(
        "/v1/admin/keys/tokens/rotate",
        Some(ROOT),
        &json!({ "reason": "quarterly rotation" }),
    );
    assert_eq!(s, 200, "{key}");
    assert_eq!(key["active_version"], 2);
    assert_eq!(key["versions"][0]["state"], "decrypt_only");
    assert_eq!(key["versions"][1]["state"], "active");
    let history = key["history"].as_array().unwrap();
    let last = history.last().unwrap();
    assert_eq!(last["action"], "rotate");
    assert_eq!(last["reason"], "quarterly rotation");
    assert_eq!(last["actor"], "root:dev");

    // The very next request is served under the new version.
    let (s, new) = http.encrypt(&token, "tokens", b"after", None);
    assert_eq!(s, 200);
    assert_eq!(new["key_version"], 2);
    assert!(
        new["ciphertext"]
            .as_str()
            .unwrap()
            .starts_with("kms:00002:")
    );
    assert_eq!(http.open(&token, "tokens", &old, Some(b"ctx")), b"before");
    assert_eq!(
        http.open(&token, "tokens", new["ciphertext"].as_str().unwrap(), None),
        b"after"
    );

    // GET shows the same.
    let (s, got) = http.get("/v1/admin/keys/tokens", Some(ROOT));
    assert_eq!(s, 200);
    assert_eq!(got["active_version"], 2);
    assert_eq!(got["versions"].as_array().unwrap().len(), 2);
    assert_eq!(got["grants"][0]["app"], "vault-app");
    assert_eq!(
        got["grants"][0]["operations"],
        json!(["encrypt", "decrypt"])
    );
    // A rotation needs a reason.
    let (s, _) = http.post(
        "/v1/admin/keys/tokens/rotate",
        Some(ROOT),
        &json!({ "reason": " " }),
    );
    assert_eq!(s, 400);
}

#[test]
fn batches_answer_every_item_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    http.create_key("batch");
    let token = http.create_app("batcher");
    http.grant("batch", "batcher", &["encrypt", "decrypt"]);

    let (s, out) = http.post(
        "/v1/keys/batch/encrypt",
        Some(&token),
        &json!({ "items": [
            { "plaintext": b64(b"one") },
            { "plaintext": "not base64!" },
            { "plaintext": b64(b"three"), "context": b64(b"c3") },
        ]}),
    );
    assert_eq!(s, 200, "{out}");
    let results = out["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[1]["error"]["code"], "invalid_base64");
    let c1 = results[0]["ciphertext"].as_str().unwrap();
    let c3 = results[2]["ciphertext"].as_str().unwrap();

    let (s, back) = http.post(
        "/v1/keys/batch/decrypt",
        Some(&token),
        &json!({ "items": [
            { "ciphertext": c3, "context": b64(b"c3") },
            { "ciphertext": c1, "context": b64(b"wrong") },
            { "ciphertext": c1 },
            { "ciphertext": "kms:00001:AAAA" },
        ]}),
    );
    assert_eq!(s, 200, "{back}");
    let r = back["results"].as_array().unwrap();
    assert_eq!(unb64(r[0]["plaintext"].as_str().unwrap()), b"three");
    assert_eq!(r[1]["error"]["code"], "decryption_failed");
    assert_eq!(unb64(r[2]["plaintext"].as_str().unwrap()), b"one");
    assert_eq!(r[3]["error"]["code"], "ciphertext_truncated");

    // Malformed batches.
    let empty = http.post(
        "/v1/keys/batch/encrypt",
        Some(&token),
        &json!({ "items": [] }),
    );
    assert_error(&empty, 400, "invalid_request");
    let both = http.post(
        "/v1/keys/batch/encrypt",
        Some(&token),
        &json!({ "plaintext": b64(b"x"), "items": [{ "plaintext": b64(b"y") }] }),
    );
    assert_error(&both, 400, "invalid_request");
    let items: Vec<_> = (0..10_001).map(|_| json!({ "plaintext": "" })).collect();
    let big = http.post(
        "/v1/keys/batch/encrypt",
        Some(&token),
        &json!({ "items": items }),
    );
    assert_error(&big, 400, "batch_too_large");
}

/// A card number sent as `plaintext` is valid base64 and would encrypt 12 unrelated bytes; sent
/// as `plaintext_utf8` it is encrypted as the text itself, and decrypts to those 16 bytes. Sending
/// both fields, or neither, is a 400 `plaintext_fields`, alone or in a batch item.
#[test]
fn text_is_encrypted_as_text_with_plaintext_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    http.create_key("cards");
    let token = http.create_app("billing");
    http.grant("cards", "billing", &["encrypt", "decrypt"]);
    let path = "/v1/keys/cards/encrypt";
    let pan = "4111111111111111";

    let (s, b) = http.post(path, Some(&token), &json!({ "plaintext_utf8": pan }));
    assert_eq!(s, 200, "{b}");
    let ct = b["ciphertext"].as_str().unwrap();
    assert_eq!(http.open(&token, "cards", ct, None), pan.as_bytes());
    // The same text as `plaintext` is read as base64: other bytes (what the field name prevents).
    let (s, b) = http.post(path, Some(&token), &json!({ "plaintext": pan }));
    assert_eq!(s, 200, "{b}");
    let decoded = http.open(&token, "cards", b["ciphertext"].as_str().unwrap(), None);
    assert_eq!(decoded.len(), 12);

    // With a context, and in a batch mixing both encodings.
    let (s, b) = http.post(
        path,
        Some(&token),
        &json!({ "plaintext_utf8": "é ✓", "context": b64(b"order-7") }),
    );
    assert_eq!(s, 200, "{b}");
    let ct = b["ciphertext"].as_str().unwrap();
    assert_eq!(
        http.open(&token, "cards", ct, Some(b"order-7")),
        "é ✓".as_bytes()
    );
    let (s, b) = http.post(
        path,
        Some(&token),
        &json!({ "items": [ { "plaintext_utf8": "a" }, { "plaintext": b64(b"b") } ] }),
    );
    assert_eq!(s, 200, "{b}");
    for (result, want) in b["results"].as_array().unwrap().iter().zip([b"a", b"b"]) {
        let ct = result["ciphertext"].as_str().unwrap();
        assert_eq!(http.open(&token, "cards", ct, None), want);
    }

    // Both, or neither: refused with one stable code, whose message names both fields.
    for body in [
        json!({ "plaintext": b64(pan.as_bytes()), "plaintext_utf8": pan }),
        json!({ "context": b64(b"x") }),
        json!({}),
        json!({ "items": [ { "plaintext_utf8": "a" }, { "plaintext": "YQ==", "plaintext_utf8": "a" } ] }),
        json!({ "items": [ { "context": "YQ==" } ] }),
    ] {
        let got = http.post(path, Some(&token), &body);
        assert_error(&got, 400, "plaintext_fields");
        let message = got.1["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("plaintext_utf8") && message.contains("base64"),
            "{message}"
        );
    }
}
