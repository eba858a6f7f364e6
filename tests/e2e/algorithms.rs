//! Every algorithm and every operation over HTTP, with OpenSSL as an independent party wherever
//! it can be: it verifies the KMS's signatures with the public key the KMS publishes, and it
//! encrypts for an RSA key without the KMS, which then decrypts.
// Over 600 lines: one table-driven pass over every algorithm and operation, with the OpenSSL
// cross-checks each needs; the table and its checks read best together.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::*;

/// A server, a key of `algorithm` named `k`, and an app granted every operation the key supports.
struct Rig {
    _dir: tempfile::TempDir,
    server: kms::testing::RunningServer,
    http: Http,
    app: String,
    key: Value,
}

fn rig(algorithm: &str, extra: Value) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    let mut body = json!({ "name": "k", "algorithm": algorithm });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (s, key) = http.post("/v1/admin/keys", Some(ROOT), &body);
    assert_eq!(s, 201, "{key}");
    let app = http.create_app("app");
    let alg = kms_engine::algorithm::Algorithm::parse(algorithm).unwrap();
    let ops: Vec<&str> = kms_engine::algorithm::Operation::ALL
        .iter()
        .filter(|o| alg.supports(**o))
        .map(|o| o.name())
        .collect();
    http.grant("k", "app", &ops);
    Rig {
        _dir: dir,
        server,
        http,
        app,
        key,
    }
}

impl Rig {
    fn call(&self, op: &str, body: Value) -> (u16, Value) {
        self.http
            .post(&format!("/v1/keys/k/{op}"), Some(&self.app), &body)
    }

    fn ok(&self, op: &str, body: Value) -> Value {
        let (s, b) = self.call(op, body);
        assert_eq!(s, 200, "{op}: {b}");
        b
    }

    fn rotate(&self) {
        let (s, b) = self.http.post(
            "/v1/admin/keys/k/rotate",
            Some(ROOT),
            &json!({ "reason": "test" }),
        );
        assert_eq!(s, 200, "{b}");
    }

    fn public_pem(&self) -> String {
        let (s, b) = self.http.get("/v1/keys/k/public-key", Some(&self.app));
        assert_eq!(s, 200, "{b}");
        assert!(
            b["pem"]
                .as_str()
                .unwrap()
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
        b["pem"].as_str().unwrap().to_owned()
    }
}

/// The part of `kms:NNNNN:<b64>` after the header, decoded.
fn body_of(text: &str) -> Vec<u8> {
    unb64(&text["kms:00001:".len()..])
}

fn openssl(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs (apt-get install openssl)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Writes the public key, message and signature and asks OpenSSL whether the signature holds
/// (also used by the Transit tests).
pub fn openssl_verifies(
    pem: &str,
    message: &[u8],
    signature: &[u8],
    how: &[&str],
    pkeyutl: bool,
) -> bool {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pub.pem"), pem).unwrap();
    std::fs::write(dir.path().join("msg"), message).unwrap();
    std::fs::write(dir.path().join("sig"), signature).unwrap();
    let mut args: Vec<&str> = if pkeyutl {
        vec![
            "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg",
            "-sigfile", "sig",
        ]
    } else {
        vec!["dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig"]
    };
    args.extend_from_slice(how);
    if !pkeyutl {
        args.push("msg");
    }
    let (ok, out) = openssl(&args, dir.path());
    // `dgst` says "Verified OK", `pkeyutl` "Signature Verified Successfully".
    ok && out.contains("Verified")
}

fn aead_round_trips(algorithm: &str) {
    let r = rig(algorithm, json!({}));
    let ct = r.ok(
        "encrypt",
        json!({ "plaintext": b64(b"4111111111111111"), "context": b64(b"c") }),
    );
    let ct = ct["ciphertext"].as_str().unwrap().to_owned();
    assert!(ct.starts_with("kms:00001:"));
    let pt = r.ok("decrypt", json!({ "ciphertext": ct, "context": b64(b"c") }));
    assert_eq!(
        unb64(pt["plaintext"].as_str().unwrap()),
        b"4111111111111111"
    );
    assert_error(
        &r.call("decrypt", json!({ "ciphertext": ct, "context": b64(b"d") })),
        400,
        "decryption_failed",
    );

    // Rewrap: under the active version, plaintext never leaves the KMS.
    r.rotate();
    let rw = r.ok("rewrap", json!({ "ciphertext": ct, "context": b64(b"c") }));
    assert_eq!(rw["key_version"], 2);
    let new = rw["ciphertext"].as_str().unwrap();
    assert!(new.starts_with("kms:00002:"));
    assert!(rw.get("plaintext").is_none());
    let pt = r.ok(
        "decrypt",
        json!({ "ciphertext": new, "context": b64(b"c") }),
    );
    assert_eq!(
        unb64(pt["plaintext"].as_str().unwrap()),
        b"4111111111111111"
    );

    // Data keys: 128 or 256 bits, wrapped under the key; the plaintext half only when asked.
    for (bits, len) in [(128, 16), (256, 32)] {
        let dk = r.ok(
            "datakey",
            json!({ "bits": bits, "return_plaintext": true, "context": b64(b"file-7") }),
        );
        let plain = unb64(dk["plaintext"].as_str().unwrap());
        assert_eq!(plain.len(), len);
        let back = r.ok(
            "decrypt",
            json!({ "ciphertext": dk["ciphertext"], "context": b64(b"file-7") }),
        );
        assert_eq!(unb64(back["plaintext"].as_str().unwrap()), plain);
    }
    let wrapped_only = r.ok("datakey", json!({ "bits": 256 }));
    assert!(wrapped_only.get("plaintext").is_none());
    assert_error(
        &r.call("datakey", json!({ "bits": 192 })),
        400,
        "invalid_request",
    );
    let batch = r.ok(
        "datakey",
        json!({ "items": [{ "bits": 128 }, { "bits": 64 }] }),
    );
    assert!(batch["results"][0]["ciphertext"].is_string());
    assert_eq!(batch["results"][1]["error"]["code"], "invalid_request");

    // Not for an AEAD key.
    for op in ["sign", "hmac"] {
        assert_error(
            &r.http.post(
                &format!("/v1/keys/k/{op}"),
                Some(ROOT),
                &json!({ "input": b64(b"x") }),
            ),
            400,
            "operation_not_supported",
        );
    }
    assert_error(
        &r.http.get("/v1/keys/k/public-key", Some(ROOT)),
        400,
        "operation_not_supported",
    );
    drop(r.server);
}

#[test]
fn aes_256_gcm() {
    aead_round_trips("aes-256-gcm");
}

#[test]
fn aes_128_gcm() {
    aead_round_trips("aes-128-gcm");
}

#[test]
fn chacha20_poly1305() {
    aead_round_trips("chacha20-poly1305");
}

#[test]
fn sm4_gcm() {
    aead_round_trips("sm4-gcm");
}

#[test]
fn aes_256_gcm_siv_random_and_deterministic() {
    aead_round_trips("aes-256-gcm-siv");
    let r = rig("aes-256-gcm-siv", json!({ "deterministic": true }));
    assert_eq!(r.key["deterministic"], true);
    let enc = |pan: &[u8]| {
        r.ok(
            "encrypt",
            json!({ "plaintext": b64(pan), "context": b64(b"pan-index") }),
        )["ciphertext"]
            .clone()
    };
    assert_eq!(enc(b"4111111111111111"), enc(b"4111111111111111"));
    assert_ne!(enc(b"4111111111111111"), enc(b"5500000000000004"));
    // Only GCM-SIV may be deterministic.
    let (s, b) = r.http.post(
        "/v1/admin/keys",
        Some(ROOT),
        &json!({ "name": "d2", "algorithm": "aes-256-gcm", "deterministic": true }),
    );
    assert_error(&(s, b), 400, "invalid_request");
}

fn hmac_works(algorithm: &str) {
    let r = rig(algorithm, json!({}));
    let mac = r.ok("hmac", json!({ "input": b64(b"token-123") }));
    assert_eq!(mac["key_version"], 1);
    let mac = mac["hmac"].as_str().unwrap().to_owned();
    assert!(mac.starts_with("kms:00001:"));
    assert_eq!(
        r.ok(
            "hmac/verify",
            json!({ "input": b64(b"token-123"), "hmac": mac })
        )["valid"],
        true
    );
    assert_eq!(
        r.ok(
            "hmac/verify",
            json!({ "input": b64(b"token-124"), "hmac": mac })
        )["valid"],
        false
    );
    // After a rotation, new MACs use v2 and old ones still verify.
    r.rotate();
    assert_eq!(
        r.ok("hmac", json!({ "input": b64(b"x") }))["key_version"],
        2
    );
    assert_eq!(
        r.ok(
            "hmac/verify",
            json!({ "input": b64(b"token-123"), "hmac": mac })
        )["valid"],
        true
    );
    assert_error(
        &r.call(
            "hmac/verify",
            json!({ "input": b64(b"x"), "hmac": "sha256:abc" }),
        ),
        400,
        "invalid_hmac",
    );
    assert_error(
        &r.call("hmac/verify", json!({ "input": b64(b"x") })),
        400,
        "invalid_request",
    );
    assert_error(
        &r.http.post(
            "/v1/keys/k/encrypt",
            Some(ROOT),
            &json!({ "plaintext": "" }),
        ),
        400,
        "operation_not_supported",
    );
    let batch = r.ok(
        "hmac",
        json!({ "items": [{ "input": b64(b"a") }, { "input": "%%%" }] }),
    );
    assert!(batch["results"][0]["hmac"].is_string());
    assert_eq!(batch["results"][1]["error"]["code"], "invalid_base64");
}

#[test]
fn hmac_sha256() {
    hmac_works("hmac-sha256");
}

#[test]
fn hmac_sm3() {
    hmac_works("hmac-sm3");
}

/// How OpenSSL verifies a signature of a given scheme: extra arguments, and whether `pkeyutl`
/// (raw input) rather than `dgst -sha256`.
type OpensslArgs = dyn Fn(Option<&str>) -> (Vec<&'static str>, bool);

/// Sign, verify (also prehashed where the algorithm allows), and OpenSSL's verdict on the
/// signature with the published public key.
fn signs(algorithm: &str, schemes: &[Option<&str>], openssl_args: &OpensslArgs) -> Rig {
    let r = rig(algorithm, json!({}));
    let pem = r.public_pem();
    let msg = b"pay 100.00 EUR to DE89370400440532013000";
    for scheme in schemes {
        let mut body = json!({ "input": b64(msg) });
        if let Some(s) = scheme {
            body["scheme"] = json!(s);
        }
        let signed = r.ok("sign", body.clone());
        let sig = signed["signature"].as_str().unwrap().to_owned();
        assert!(sig.starts_with("kms:00001:"), "{sig}");
        let mut v = body.clone();
        v["signature"] = json!(sig);
        assert_eq!(
            r.ok("verify", v.clone())["valid"],
            true,
            "{algorithm} {scheme:?}"
        );
        v["input"] = json!(b64(b"pay 900.00 EUR to DE89370400440532013000"));
        assert_eq!(r.ok("verify", v)["valid"], false);
        let (how, pkeyutl) = openssl_args(*scheme);
        assert!(
            openssl_verifies(&pem, msg, &body_of(&sig), &how, pkeyutl),
            "OpenSSL rejects the {algorithm} {scheme:?} signature"
        );
        // And OpenSSL can say no: the same signature over another message.
        assert!(!openssl_verifies(
            &pem,
            b"pay 900.00 EUR",
            &body_of(&sig),
            &how,
            pkeyutl
        ));
    }
    assert_error(
        &r.call(
            "verify",
            json!({ "input": b64(msg), "signature": "not-a-signature" }),
        ),
        400,
        "invalid_signature",
    );
    assert_error(
        &r.http.post(
            "/v1/keys/k/hmac",
            Some(ROOT),
            &json!({ "input": b64(b"x") }),
        ),
        400,
        "operation_not_supported",
    );
    r
}

fn prehashed_signature_verifies(r: &Rig) {
    let msg = b"prehashed message";
    let digest = Sha256::digest(msg);
    let sig =
        r.ok("sign", json!({ "input": b64(&digest), "prehashed": true }))["signature"].clone();
    assert_eq!(
        r.ok("verify", json!({ "input": b64(msg), "signature": sig }))["valid"],
        true
    );
    assert_error(
        &r.call(
            "sign",
            json!({ "input": b64(&digest[..20]), "prehashed": true }),
        ),
        400,
        "invalid_signature_input",
    );
}

fn rsa_openssl(scheme: Option<&str>) -> (Vec<&'static str>, bool) {
    match scheme {
        Some("pkcs1v15") => (vec![], false),
        _ => (
            vec![
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:32",
            ],
            false,
        ),
    }
}

#[test]
fn rsa_2048_signs_encrypts_and_interoperates_with_openssl() {
    let r = signs(
        "rsa-2048",
        &[None, Some("pss"), Some("pkcs1v15")],
        &rsa_openssl,
    );
    prehashed_signature_verifies(&r);
    assert_error(
        &r.call("sign", json!({ "input": b64(b"x"), "scheme": "md5" })),
        400,
        "invalid_signature_input",
    );

    // OAEP-SHA256 encryption through the KMS, with a context.
    let ct = r.ok(
        "encrypt",
        json!({ "plaintext": b64(b"card 4111"), "context": b64(b"ctx") }),
    )["ciphertext"]
        .clone();
    let pt = r.ok(
        "decrypt",
        json!({ "ciphertext": ct, "context": b64(b"ctx") }),
    );
    assert_eq!(unb64(pt["plaintext"].as_str().unwrap()), b"card 4111");
    assert_error(
        &r.call(
            "decrypt",
            json!({ "ciphertext": ct, "context": b64(b"other") }),
        ),
        400,
        "decryption_failed",
    );
    assert_error(
        &r.call("encrypt", json!({ "plaintext": b64(&[0u8; 191]) })),
        400,
        "plaintext_too_large",
    );

    // An application encrypts offline with OpenSSL and the published key: the OAEP label is the
    // ciphertext's associated data (header ‖ key id ‖ context), all of it public.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pub.pem"), r.public_pem()).unwrap();
    std::fs::write(dir.path().join("pt"), b"offline secret").unwrap();
    let key_id = uuid::Uuid::parse_str(r.key["id"].as_str().unwrap()).unwrap();
    let label: String = [b"kms:00001:".as_slice(), key_id.as_bytes(), b"ctx"]
        .concat()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let label_opt = format!("rsa_oaep_label:{label}");
    let (ok, out) = openssl(
        &[
            "pkeyutl",
            "-encrypt",
            "-pubin",
            "-inkey",
            "pub.pem",
            "-in",
            "pt",
            "-out",
            "ct",
            "-pkeyopt",
            "rsa_padding_mode:oaep",
            "-pkeyopt",
            "rsa_oaep_md:sha256",
            "-pkeyopt",
            "rsa_mgf1_md:sha256",
            "-pkeyopt",
            &label_opt,
        ],
        dir.path(),
    );
    assert!(ok, "{out}");
    let ct = format!(
        "kms:00001:{}",
        b64(&std::fs::read(dir.path().join("ct")).unwrap())
    );
    let pt = r.ok(
        "decrypt",
        json!({ "ciphertext": ct, "context": b64(b"ctx") }),
    );
    assert_eq!(unb64(pt["plaintext"].as_str().unwrap()), b"offline secret");

    // Rewrap after a rotation, and the public key of each version.
    r.rotate();
    let old = r.ok("encrypt", json!({ "plaintext": b64(b"y") }));
    assert_eq!(old["key_version"], 2);
    let (s, v1) = r.http.get("/v1/keys/k/public-key?version=1", Some(&r.app));
    assert_eq!((s, v1["key_version"].clone()), (200, json!(1)));
    assert_ne!(v1["pem"], json!(r.public_pem()));
}

#[test]
fn rsa_3072_and_4096() {
    for alg in ["rsa-3072", "rsa-4096"] {
        let r = signs(alg, &[Some("pss"), Some("pkcs1v15")], &rsa_openssl);
        let ct = r.ok("encrypt", json!({ "plaintext": b64(b"z") }))["ciphertext"].clone();
        assert_eq!(
            unb64(
                r.ok("decrypt", json!({ "ciphertext": ct }))["plaintext"]
                    .as_str()
                    .unwrap()
            ),
            b"z"
        );
    }
}

#[test]
fn ecdsa_p256() {
    let r = signs("ecdsa-p256", &[None], &|_| (vec![], false));
    prehashed_signature_verifies(&r);
    assert_error(
        &r.call("sign", json!({ "input": b64(b"x"), "scheme": "pss" })),
        400,
        "invalid_signature_input",
    );
    assert_error(
        &r.http.post(
            "/v1/keys/k/encrypt",
            Some(ROOT),
            &json!({ "plaintext": "" }),
        ),
        400,
        "operation_not_supported",
    );
}

#[test]
fn ed25519() {
    let r = signs("ed25519", &[None], &|_| (vec![], true));
    assert_error(
        &r.call(
            "sign",
            json!({ "input": b64(&[0u8; 32]), "prehashed": true }),
        ),
        400,
        "invalid_signature_input",
    );
}

#[test]
fn sm2_signs_and_encrypts() {
    let r = signs("sm2", &[None], &|_| {
        (
            vec!["-digest", "sm3", "-pkeyopt", "distid:1234567812345678"],
            true,
        )
    });
    let ct = r.ok(
        "encrypt",
        json!({ "plaintext": b64(b"6217000010001234567") }),
    )["ciphertext"]
        .clone();
    assert_eq!(
        unb64(
            r.ok("decrypt", json!({ "ciphertext": ct }))["plaintext"]
                .as_str()
                .unwrap()
        ),
        b"6217000010001234567"
    );
    assert_error(
        &r.call(
            "encrypt",
            json!({ "plaintext": b64(b"x"), "context": b64(b"c") }),
        ),
        400,
        "context_not_supported",
    );
    r.rotate();
    let rw = r.ok("rewrap", json!({ "ciphertext": ct }));
    assert_eq!(rw["key_version"], 2);
}

#[test]
fn random_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    let app = http.create_app("anyone");
    let (s, b) = http.post("/v1/random", Some(&app), &json!({ "bytes": 32 }));
    assert_eq!(s, 200, "{b}");
    let a = unb64(b["random"].as_str().unwrap());
    assert_eq!(a.len(), 32);
    let (_, b2) = http.post("/v1/random", Some(&app), &json!({ "bytes": 32 }));
    assert_ne!(a, unb64(b2["random"].as_str().unwrap()));
    assert_error(
        &http.post("/v1/random", Some(&app), &json!({ "bytes": 0 })),
        400,
        "invalid_request",
    );
    assert_error(
        &http.post("/v1/random", Some(&app), &json!({ "bytes": 1025 })),
        400,
        "invalid_request",
    );
    assert_error(
        &http.post("/v1/random", None, &json!({ "bytes": 8 })),
        401,
        "missing_token",
    );
    let (s, b) = http.post(
        "/v1/random",
        Some(&app),
        &json!({ "items": [{ "bytes": 4 }, { "bytes": 5000 }] }),
    );
    assert_eq!(s, 200);
    assert_eq!(unb64(b["results"][0]["random"].as_str().unwrap()).len(), 4);
    assert_eq!(b["results"][1]["error"]["code"], "invalid_request");
}

#[test]
fn grants_are_per_operation_and_public_key_needs_any_grant() {
    let r = rig("ecdsa-p256", json!({}));
    let signer = r.http.create_app("signer");
    let outsider = r.http.create_app("outsider");
    r.http.grant("k", "signer", &["sign"]);
    let sig = r.http.post(
        "/v1/keys/k/sign",
        Some(&signer),
        &json!({ "input": b64(b"m") }),
    );
    assert_eq!(sig.0, 200);
    assert_error(
        &r.http.post(
            "/v1/keys/k/verify",
            Some(&signer),
            &json!({ "input": b64(b"m"), "signature": sig.1["signature"] }),
        ),
        403,
        "operation_not_granted",
    );
    assert_eq!(r.http.get("/v1/keys/k/public-key", Some(&signer)).0, 200);
    assert_error(
        &r.http.get("/v1/keys/k/public-key", Some(&outsider)),
        403,
        "operation_not_granted",
    );
    // A grant for an operation the algorithm cannot do is refused when it is made.
    let (s, b) = r.http.post(
        "/v1/admin/keys/k/grants",
        Some(ROOT),
        &json!({ "app": "signer", "operations": ["encrypt"] }),
    );
    assert_error(&(s, b), 400, "operation_not_supported");
}
