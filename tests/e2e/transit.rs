//! The Vault Transit-compatible API, driven by a real Vault client library (`vaultrs`) as an
//! application would, plus raw HTTP for what the client does not show: the envelope, errors and
//! their status codes, batches, the LIST method and the mount path.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use vaultrs::api::transit::requests::{
    CreateKeyRequest, DecryptDataRequest, EncryptDataRequest, ExportKeyType, ExportVersion,
    GenerateRandomBytesRequest, HashDataRequest, SignDataRequest, UpdateKeyConfigurationRequest,
    VerifySignedDataRequest,
};
use vaultrs::api::transit::responses::ReadKeyData;
use vaultrs::api::transit::{
    HashAlgorithm, KeyType, MarshalingAlgorithm, OutputFormat, SignatureAlgorithm,
};
use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};
use vaultrs::error::ClientError;
use vaultrs::transit::{data, generate, key};

use kms_engine::audit::Outcome;
use kms_gateway::testing::RunningServer;

use crate::access::audit;
use crate::algorithms::openssl_verifies;
use crate::observability::{sample, scrape};
use crate::support::*;

const MOUNT: &str = "transit";

fn client(base: &str, token: &str) -> VaultClient {
    VaultClient::new(
        VaultClientSettingsBuilder::default()
            .address(base)
            .token(token)
            .build()
            .unwrap(),
    )
    .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The status and `errors` of a refused call.
#[track_caller]
fn api_error<T: std::fmt::Debug>(r: Result<T, ClientError>) -> (u16, Vec<String>) {
    match r {
        Err(ClientError::APIError { code, errors }) => (code, errors),
        other => panic!("expected a Vault API error, got {other:?}"),
    }
}

/// Raw HTTP with Vault's header (and any method, LIST included).
fn vault_call(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        .build()
        .new_agent();
    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"));
    if let Some(t) = token {
        req = req.header("X-Vault-Token", t);
    }
    let text = body.map(Value::to_string).unwrap_or_default();
    Http::answer(agent.run(req.body(text.into_bytes()).unwrap()))
}

/// Asserts Vault's error shape: the status and one line in `errors` that starts with `code`.
#[track_caller]
fn assert_vault_error(got: &(u16, Value), status: u16, code: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    let errors = got.1["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", got.1));
    assert_eq!(errors.len(), 1, "{}", got.1);
    assert!(
        errors[0]
            .as_str()
            .unwrap()
            .starts_with(&format!("{code}: ")),
        "{}",
        got.1
    );
}

#[test]
fn a_vault_client_creates_rotates_and_encrypts() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let base = server.url("");
    let vault = client(&base, ROOT);
    runtime().block_on(async {
        key::create(&vault, MOUNT, "orders", None).await.unwrap();
        let read = key::read(&vault, MOUNT, "orders").await.unwrap();
        assert!(matches!(read.key_type, KeyType::Aes256Gcm96));
        assert!(read.supports_encryption && read.supports_decryption && !read.supports_signing);
        assert_eq!(read.min_decryption_version, 1);
        let ReadKeyData::Symmetric(versions) = &read.keys else {
            panic!("{read:?}")
        };
        assert_eq!(versions.keys().collect::<Vec<_>>(), ["1"]);
        // Creation time in Unix seconds, as Vault shows it: within the last minute.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(now.abs_diff(versions["1"]) < 60, "{versions:?}");
        key::create(
            &vault,
            MOUNT,
            "chacha",
            Some(CreateKeyRequest::builder().key_type(KeyType::Chacha20Poly1305)),
        )
        .await
        .unwrap();
        // Scheduled rotation, as a Vault duration; under an hour is refused, as in Vault.
        key::create(
            &vault,
            MOUNT,
            "daily",
            Some(CreateKeyRequest::builder().auto_rotate_period("24h")),
        )
        .await
        .unwrap();
        let (_, view) = Http::new(&server).get("/v1/admin/keys/daily", Some(ROOT));
        assert_eq!(view["rotation_period"], "1d", "{view}");
        let short = key::create(
            &vault,
            MOUNT,
            "hasty",
            Some(CreateKeyRequest::builder().auto_rotate_period("30m")),
        )
        .await;
        assert_eq!(api_error(short).0, 400);
        key::update(
            &vault,
            MOUNT,
            "daily",
            Some(UpdateKeyConfigurationRequest::builder().auto_rotate_period(Some("0".into()))),
        )
        .await
        .unwrap();
        let (_, view) = Http::new(&server).get("/v1/admin/keys/daily", Some(ROOT));
        assert_eq!(view["rotation_period"], serde_json::Value::Null, "{view}");
        let listed = key::list(&vault, MOUNT).await.unwrap();
        assert_eq!(listed.keys, ["chacha", "daily", "orders"]);

        // Encrypt and decrypt, with and without associated data.
        let card = b64(b"4111111111111111");
        let ct1 = data::encrypt(&vault, MOUNT, "orders", &card, None)
            .await
            .unwrap()
            .ciphertext;
        assert!(ct1.starts_with("vault:v1:"), "{ct1}");
        let plain = data::decrypt(&vault, MOUNT, "orders", &ct1, None)
            .await
            .unwrap();
        assert_eq!(unb64(&plain.plaintext), b"4111111111111111");
        let bound = data::encrypt(
            &vault,
            MOUNT,
            "chacha",
            &card,
            Some(EncryptDataRequest::builder().associated_data(b64(b"order-7"))),
        )
        .await
        .unwrap()
        .ciphertext;
        let opened = data::decrypt(
            &vault,
            MOUNT,
            "chacha",
            &bound,
            Some(DecryptDataRequest::builder().associated_data(b64(b"order-7"))),
        )
        .await
        .unwrap();
        assert_eq!(unb64(&opened.plaintext), b"4111111111111111");
        let (status, errors) =
            api_error(data::decrypt(&vault, MOUNT, "chacha", &bound, None).await);
        assert_eq!(status, 400);
        assert!(errors[0].starts_with("decryption_failed: "), "{errors:?}");
        // An edited version number does not decrypt either: the version is authenticated.
        let edited = ct1.replacen("vault:v1:", "vault:v2:", 1);
        assert_eq!(
            api_error(data::decrypt(&vault, MOUNT, "orders", &edited, None).await).0,
            400
        );

        // Rotate: v2 encrypts, v1 still decrypts, rewrap moves v1 ciphertexts to v2.
        key::rotate(&vault, MOUNT, "orders").await.unwrap();
        let read = key::read(&vault, MOUNT, "orders").await.unwrap();
        let ReadKeyData::Symmetric(versions) = &read.keys else {
            panic!("{read:?}")
        };
        assert_eq!(versions.len(), 2);
        let ct2 = data::encrypt(&vault, MOUNT, "orders", &card, None)
            .await
            .unwrap()
            .ciphertext;
        assert!(ct2.starts_with("vault:v2:"), "{ct2}");
        let rewrapped = data::rewrap(&vault, MOUNT, "orders", &ct1, None)
            .await
            .unwrap()
            .ciphertext;
        assert!(rewrapped.starts_with("vault:v2:"), "{rewrapped}");
        let plain = data::decrypt(&vault, MOUNT, "orders", &rewrapped, None)
            .await
            .unwrap();
        assert_eq!(unb64(&plain.plaintext), b"4111111111111111");

        // The native API opens the same bytes: `vault:v2:X` is `kms:00002:X`.
        let native = format!("kms:00002:{}", &ct2["vault:v2:".len()..]);
        assert_eq!(
            Http::new(&server).open(ROOT, "orders", &native, None),
            b"4111111111111111"
        );

        // min_decryption_version 2: v1 ciphertexts are refused; then trim drops version 1.
        key::update(
            &vault,
            MOUNT,
            "orders",
            Some(UpdateKeyConfigurationRequest::builder().min_decryption_version(Some(2))),
        )
        .await
        .unwrap();
        let (status, errors) = api_error(data::decrypt(&vault, MOUNT, "orders", &ct1, None).await);
        assert_eq!(status, 400);
        assert!(
            errors[0].starts_with("below_min_decryption_version: "),
            "{errors:?}"
        );
        key::trim(&vault, MOUNT, "orders", 2).await.unwrap();
        let read = key::read(&vault, MOUNT, "orders").await.unwrap();
        let ReadKeyData::Symmetric(versions) = &read.keys else {
            panic!("{read:?}")
        };
        assert_eq!(versions.keys().collect::<Vec<_>>(), ["2"]);
        // The scheduler then erases version 1's material, as for any destruction.
        let state = server.state.clone();
        let tick = server
            .state
            .io
            .spawn(async move { kms_gateway::scheduler::tick(&state).await })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(tick.destroyed, 1);
        let (_, view) = Http::new(&server).get("/v1/admin/keys/orders", Some(ROOT));
        assert_eq!(view["versions"][0]["state"], "destroyed", "{view}");
        // Trimming past the minimum decryption version is refused, as in Vault.
        assert_eq!(
            api_error(key::trim(&vault, MOUNT, "orders", 3).await).0,
            400
        );

        // Data keys: the plaintext one decrypts to its plaintext; the wrapped one has none.
        let dk = generate::data_key(
            &vault,
            MOUNT,
            "orders",
            vaultrs::api::transit::requests::DataKeyType::Plaintext,
            None,
        )
        .await
        .unwrap();
        let dk_plain = dk.plaintext.unwrap();
        assert_eq!(unb64(&dk_plain).len(), 32);
        let opened = data::decrypt(&vault, MOUNT, "orders", &dk.ciphertext, None)
            .await
            .unwrap();
        assert_eq!(opened.plaintext, dk_plain);
        let wrapped = generate::data_key(
            &vault,
            MOUNT,
            "orders",
            vaultrs::api::transit::requests::DataKeyType::Wrapped,
            None,
        )
        .await
        .unwrap();
        assert!(wrapped.plaintext.is_none());
        assert!(wrapped.ciphertext.starts_with("vault:v2:"));

        // Secret material is never exported.
        let export = key::export(
            &vault,
            MOUNT,
            "orders",
            ExportKeyType::EncryptionKey,
            ExportVersion::Latest,
        )
        .await;
        let (status, errors) = api_error(export);
        assert_eq!(status, 400);
        assert!(errors[0].starts_with("not_exportable: "), "{errors:?}");
        // Deletion is refused (deletion_allowed is false for every key), and the key stays.
        let (status, errors) = api_error(key::delete(&vault, MOUNT, "orders").await);
        assert_eq!(status, 400);
        assert!(
            errors[0].starts_with("deletion_not_allowed: "),
            "{errors:?}"
        );
        key::read(&vault, MOUNT, "orders").await.unwrap();
        // Settings this KMS does not have are refused, not ignored.
        let derived = key::create(
            &vault,
            MOUNT,
            "derived",
            Some(CreateKeyRequest::builder().derived(true)),
        )
        .await;
        assert_eq!(api_error(derived).0, 400);
    });
}

#[test]
fn a_vault_client_signs_verifies_macs_hashes_and_draws_random_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let base = server.url("");
    let vault = client(&base, ROOT);
    let message = b"pay 100.00 EUR to ACME";
    let input = b64(message);
    runtime().block_on(async {
        for (name, kind) in [
            ("ec", KeyType::EcdsaP256),
            ("ed", KeyType::Ed25519),
            ("rsa", KeyType::Rsa2048),
        ] {
            key::create(
                &vault,
                MOUNT,
                name,
                Some(CreateKeyRequest::builder().key_type(kind)),
            )
            .await
            .unwrap();
            let signed = data::sign(&vault, MOUNT, name, &input, None).await.unwrap();
            assert!(signed.signature.starts_with("vault:v1:"), "{name}");
            let ok = data::verify(
                &vault,
                MOUNT,
                name,
                &input,
                Some(VerifySignedDataRequest::builder().signature(signed.signature.clone())),
            )
            .await
            .unwrap();
            assert!(ok.valid, "{name}");
            let forged = data::verify(
                &vault,
                MOUNT,
                name,
                &b64(b"pay 999.00 EUR to ACME"),
                Some(VerifySignedDataRequest::builder().signature(signed.signature.clone())),
            )
            .await
            .unwrap();
            assert!(!forged.valid, "{name}");

            // The public key from the read verifies the signature outside the KMS.
            let read = key::read(&vault, MOUNT, name).await.unwrap();
            assert!(read.supports_signing, "{name}");
            assert_eq!(read.supports_decryption, name == "rsa", "{name}");
            let ReadKeyData::Asymmetric(versions) = &read.keys else {
                panic!("{read:?}")
            };
            let public = &versions["1"].public_key;
            // The same public key through Vault's export.
            let exported = key::export(
                &vault,
                MOUNT,
                name,
                ExportKeyType::PublicKey,
                ExportVersion::All,
            )
            .await
            .unwrap();
            assert_eq!(exported.keys.get("1"), Some(public), "{name}");
            let sig = unb64(&signed.signature["vault:v1:".len()..]);
            match name {
                "ed" => {
                    // Vault shows Ed25519 keys as their 32 raw bytes: wrap them in SPKI for OpenSSL.
                    let raw = unb64(public);
                    assert_eq!(raw.len(), 32);
                    let mut der = vec![
                        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
                    ];
                    der.extend_from_slice(&raw);
                    let pem = format!(
                        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
                        b64(&der)
                    );
                    assert!(openssl_verifies(&pem, message, &sig, &[], true));
                }
                "ec" => {
                    assert_eq!(versions["1"].name, "P-256");
                    assert!(openssl_verifies(public, message, &sig, &[], false));
                }
                _ => assert!(openssl_verifies(
                    public,
                    message,
                    &sig,
                    &[
                        "-sigopt",
                        "rsa_padding_mode:pss",
                        "-sigopt",
                        "rsa_pss_saltlen:32"
                    ],
                    false,
                )),
            }
        }
        // RSA PKCS#1 v1.5, with the hash algorithm named as Vault clients name it.
        let signed = data::sign(
            &vault,
            MOUNT,
            "rsa",
            &input,
            Some(
                SignDataRequest::builder()
                    .signature_algorithm(SignatureAlgorithm::Pkcs1v15)
                    .hash_algorithm(HashAlgorithm::Sha2_256),
            ),
        )
        .await
        .unwrap();
        let read = key::read(&vault, MOUNT, "rsa").await.unwrap();
        let ReadKeyData::Asymmetric(versions) = &read.keys else {
            panic!("{read:?}")
        };
        let sig = unb64(&signed.signature["vault:v1:".len()..]);
        assert!(openssl_verifies(
            &versions["1"].public_key,
            message,
            &sig,
            &[],
            false
        ));
        let verified = data::verify(
            &vault,
            MOUNT,
            "rsa",
            &input,
            Some(
                VerifySignedDataRequest::builder()
                    .signature(signed.signature)
                    .signature_algorithm(SignatureAlgorithm::Pkcs1v15),
            ),
        )
        .await
        .unwrap();
        assert!(verified.valid);
        // ECDSA signatures as JWS: `r ‖ s`, 64 bytes in unpadded base64url.
        let jws = || {
            SignDataRequest::builder()
                .marshaling_algorithm(MarshalingAlgorithm::Jws)
                .clone()
        };
        let signed = data::sign(&vault, MOUNT, "ec", &input, Some(&mut jws()))
            .await
            .unwrap();
        let body = &signed.signature["vault:v1:".len()..];
        assert!(!body.contains(['+', '/', '=']), "{body}");
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 64);
        for (message, valid) in [(&input, true), (&b64(b"other"), false)] {
            let verified = data::verify(
                &vault,
                MOUNT,
                "ec",
                message,
                Some(
                    VerifySignedDataRequest::builder()
                        .signature(signed.signature.clone())
                        .marshaling_algorithm(MarshalingAlgorithm::Jws),
                ),
            )
            .await
            .unwrap();
            assert_eq!(verified.valid, valid);
        }
        // Hash algorithms other than SHA-256 are refused, not silently replaced.
        let sha512 = data::sign(
            &vault,
            MOUNT,
            "ec",
            &input,
            Some(SignDataRequest::builder().hash_algorithm(HashAlgorithm::Sha2_512)),
        )
        .await;
        assert_eq!(api_error(sha512).0, 400);

        // HMAC keys (vaultrs has no `hmac` type, so this one is created over raw HTTP).
        let created = vault_call(
            &base,
            "POST",
            "/v1/transit/keys/tokens",
            Some(ROOT),
            Some(&json!({ "type": "hmac" })),
        );
        assert_eq!(created.0, 200, "{}", created.1);
        assert_eq!(created.1["data"]["type"], "hmac");
        let mac = generate::hmac(&vault, MOUNT, "tokens", &input, None)
            .await
            .unwrap()
            .hmac;
        assert!(mac.starts_with("vault:v1:"), "{mac}");
        let check = |input: String, mac: String| {
            let vault = &vault;
            async move {
                data::verify(
                    vault,
                    MOUNT,
                    "tokens",
                    &input,
                    Some(VerifySignedDataRequest::builder().hmac(mac)),
                )
                .await
                .unwrap()
                .valid
            }
        };
        assert!(check(input.clone(), mac.clone()).await);
        assert!(!check(b64(b"other"), mac.clone()).await);
        // The native API checks the same MAC.
        let (s, b) = Http::new(&server).post(
            "/v1/keys/tokens/hmac/verify",
            Some(ROOT),
            &json!({ "input": input, "hmac": mac.replacen("vault:v1:", "kms:00001:", 1) }),
        );
        assert_eq!((s, &b["valid"]), (200, &json!(true)), "{b}");

        // Hashes: FIPS 180-2's "abc".
        let sum = generate::hash(
            &vault,
            MOUNT,
            &b64(b"abc"),
            Some(
                HashDataRequest::builder()
                    .algorithm(HashAlgorithm::Sha2_256)
                    .format(OutputFormat::Hex),
            ),
        )
        .await
        .unwrap()
        .sum;
        assert_eq!(
            sum,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // Random bytes: the length asked for, and not the same twice.
        let draw = || async {
            generate::random_bytes(
                &vault,
                MOUNT,
                OutputFormat::Base64,
                vaultrs::api::transit::requests::RandomBytesSource::Platform,
                Some(GenerateRandomBytesRequest::builder().bytes(48u32)),
            )
            .await
            .unwrap()
            .random_bytes
        };
        let (a, b) = (unb64(&draw().await), unb64(&draw().await));
        assert_eq!((a.len(), b.len()), (48, 48));
        assert_ne!(a, b);
    });
    // Random bytes in hex, with the count in the path.
    let r = vault_call(
        &base,
        "POST",
        "/v1/transit/random/16",
        Some(ROOT),
        Some(&json!({ "format": "hex" })),
    );
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1["data"]["random_bytes"].as_str().unwrap().len(), 32);
}

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
    // A missing key is 404 for an administrator.
    assert_vault_error(
        &call("GET", "/keys/none", Some(ROOT), None),
        404,
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
    assert_vault_error(
        &call(
            "POST",
            "/keys/x",
            Some(ROOT),
            Some(json!({ "type": "ecdsa-p521" })),
        ),
        400,
        "unsupported_algorithm",
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
    assert_vault_error(
        &call(
            "POST",
            "/keys/cards/config",
            Some(ROOT),
            Some(json!({ "deletion_allowed": true })),
        ),
        400,
        "invalid_request",
    );
    assert_vault_error(
        &call(
            "POST",
            "/hash/sha3-256",
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

#[test]
fn a_vault_client_looks_up_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let base = server.url("");
    let app = Http::new(&server).create_app("checkout");
    runtime().block_on(async {
        let me = vaultrs::token::lookup_self(&client(&base, ROOT))
            .await
            .unwrap();
        assert_eq!(
            (me.display_name.as_str(), me.policies),
            ("root:dev", vec!["root".to_owned()])
        );
        assert_eq!(me.id, "", "the token is not echoed");
        let me = vaultrs::token::lookup_self(&client(&base, &app))
            .await
            .unwrap();
        assert_eq!(me.display_name, "app:checkout");
        let (status, errors) = api_error(vaultrs::token::lookup_self(&client(&base, "nope")).await);
        assert_eq!(status, 403);
        assert!(errors[0].starts_with("invalid_token: "), "{errors:?}");
    });
}

#[test]
fn the_mount_path_is_configurable() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server_with(dir.path(), |o| o.transit_mount = "/v1/crypto/eu/".into());
    let base = server.url("");
    let vault = client(&base, ROOT);
    runtime().block_on(async {
        key::create(&vault, "crypto/eu", "k", None).await.unwrap();
        let ct = data::encrypt(&vault, "crypto/eu", "k", &b64(b"hi"), None)
            .await
            .unwrap()
            .ciphertext;
        let plain = data::decrypt(&vault, "crypto/eu", "k", &ct, None)
            .await
            .unwrap();
        assert_eq!(unb64(&plain.plaintext), b"hi");
    });
    // Nothing answers at the default mount.
    let read = vault_call(&base, "GET", "/v1/transit/keys/k", Some(ROOT), None);
    assert_eq!(read.0, 404, "{}", read.1);
}

#[test]
fn a_mount_over_the_native_api_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = dev_options(dir.path());
    opts.transit_mount = "/v1/keys".into();
    let err = RunningServer::start(opts).err().expect("refused");
    assert!(err.to_string().contains("transit_mount"), "{err}");
}
