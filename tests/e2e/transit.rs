//! The Vault Transit-compatible API, driven by a real Vault client library (`vaultrs`) as an
//! application would, plus raw HTTP for what the client does not show: the envelope, errors and
//! their status codes, batches, the LIST method and the mount path.
// Over 600 lines: each Transit endpoint's test drives it with the Vault client and checks the
// raw envelope beside it; the key deletion cases already have their own file (transit/).

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

use kms::testing::RunningServer;

use crate::algorithms::openssl_verifies;
use crate::support::*;

// Export, backup and restore through approvals.
mod approved;
// Deleting keys once `deletion_allowed` is set.
mod delete;
// The same calls sent to OpenBao and to the KMS, compared.
mod differential;
// The raw-HTTP checks: envelope, errors, batches, LIST, audit and metrics.
mod http;

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
pub fn vault_call(
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
pub fn assert_vault_error(got: &(u16, Value), status: u16, code: &str) {
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
        let control = server.state.control.clone();
        let tick = server
            .state
            .io
            .spawn(async move { kms_control::scheduler::tick(&control).await })
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
        // Deletion is refused (deletion_allowed is false until configured: transit/delete.rs),
        // and the key stays.
        let (status, errors) = api_error(key::delete(&vault, MOUNT, "orders").await);
        assert_eq!(status, 400);
        assert!(
            errors[0].starts_with("deletion_not_allowed: "),
            "{errors:?}"
        );
        key::read(&vault, MOUNT, "orders").await.unwrap();
        // A derived key: every request needs its derivation context.
        key::create(
            &vault,
            MOUNT,
            "derived",
            Some(CreateKeyRequest::builder().derived(true)),
        )
        .await
        .unwrap();
        assert!(key::read(&vault, MOUNT, "derived").await.unwrap().derived);
        let no_context = data::encrypt(&vault, MOUNT, "derived", &b64(b"x"), None).await;
        assert_eq!(api_error(no_context).0, 400);
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
        // Another hash signs another digest: it verifies with that hash only.
        let sha512 = data::sign(
            &vault,
            MOUNT,
            "ec",
            &input,
            Some(SignDataRequest::builder().hash_algorithm(HashAlgorithm::Sha2_512)),
        )
        .await
        .unwrap();
        for (hash, valid) in [
            (HashAlgorithm::Sha2_512, true),
            (HashAlgorithm::Sha2_256, false),
        ] {
            let verified = data::verify(
                &vault,
                MOUNT,
                "ec",
                &input,
                Some(
                    VerifySignedDataRequest::builder()
                        .signature(sha512.signature.clone())
                        .hash_algorithm(hash),
                ),
            )
            .await
            .unwrap();
            assert_eq!(verified.valid, valid);
        }

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
fn a_vault_client_checks_health() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let base = server.url("");
    let health = runtime()
        .block_on(vaultrs::sys::health(&client(&base, "")))
        .unwrap();
    assert!(health.initialized && !health.sealed && !health.standby);
    let (status, body) = vault_call(&base, "GET", "/v1/sys/health?activecode=299", None, None);
    assert_eq!((status, &body["sealed"]), (299, &json!(false)), "{body}");

    // A KMS without a master key yet: Vault's 501, or the code the caller asks for.
    let dir = tempfile::tempdir().unwrap();
    let mut opts = kms::options::ServeOptions::new(dir.path().to_owned());
    opts.listen = "127.0.0.1:0".parse().unwrap();
    opts.http_workers = 1;
    opts.pool.workers = 1;
    let fresh = RunningServer::start(opts).unwrap();
    let base = fresh.url("");
    let (status, body) = vault_call(&base, "GET", "/v1/sys/health", None, None);
    assert_eq!(
        (status, &body["initialized"]),
        (501, &json!(false)),
        "{body}"
    );
    let (status, _) = vault_call(&base, "GET", "/v1/sys/health?uninitcode=200", None, None);
    assert_eq!(status, 200);
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
