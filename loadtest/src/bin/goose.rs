//! goose scenarios against a running KMS: `encrypt`, `decrypt` and `mixed` (50/50) of 64 bytes,
//! `batch100` (100 encrypts per request), `signecdsa` and `signrsa` (a SHA-256 digest).
//!
//! Set `KMS_TOKEN` to a token granted these operations on `KMS_KEY` (AES, default `loadtest`),
//! `KMS_ECDSA_KEY` (default `loadtest-ecdsa`) and `KMS_RSA_KEY` (default `loadtest-rsa`), then run
//! e.g. `cargo run --release -p kms-loadtest --bin kms-loadtest -- --host http://127.0.0.1:8200
//! --users 32 --run-time 30s --scenarios encrypt --report-file report.html --report-file
//! report.json`. loadtest/run.sh runs them all.
//! goose itself tops out near 50k requests/s on two cores; peak figures come from wrk.
#![forbid(unsafe_code)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use goose::prelude::*;
use serde_json::{Value, json};

struct Config {
    token: String,
    key: String,
    ecdsa_key: String,
    rsa_key: String,
}

fn config() -> &'static Config {
    static CONFIG: std::sync::OnceLock<Config> = std::sync::OnceLock::new();
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    CONFIG.get_or_init(|| Config {
        token: var("KMS_TOKEN", ""),
        key: var("KMS_KEY", "loadtest"),
        ecdsa_key: var("KMS_ECDSA_KEY", "loadtest-ecdsa"),
        rsa_key: var("KMS_RSA_KEY", "loadtest-rsa"),
    })
}

/// A SHA-256 digest to sign.
const DIGEST: &str = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=";

/// A decrypting user's ciphertext, made once when the user starts.
#[derive(Clone)]
struct Sealed(String);

async fn post(
    user: &mut GooseUser,
    key: &str,
    op: &str,
    body: &Value,
) -> Result<Value, Box<TransactionError>> {
    let c = config();
    let path = format!("/v1/keys/{key}/{op}");
    let builder = user
        .get_request_builder(&GooseMethod::Post, &path)?
        .bearer_auth(&c.token)
        .json(body);
    let request = GooseRequest::builder()
        .method(GooseMethod::Post)
        .path(path.as_str())
        .set_request_builder(builder)
        .build();
    let mut done = user.request(request).await?;
    match done.response {
        Ok(r) if r.status().is_success() => Ok(r.json().await.unwrap_or(Value::Null)),
        Ok(r) => {
            let status = r.status();
            user.set_failure(&format!("{op}: {status}"), &mut done.request, None, None)?;
            Ok(Value::Null)
        }
        Err(_) => Ok(Value::Null),
    }
}

fn plaintext() -> Value {
    json!({ "plaintext": STANDARD.encode([0x42u8; 64]) })
}

async fn encrypt(user: &mut GooseUser) -> TransactionResult {
    post(user, &config().key, "encrypt", &plaintext()).await?;
    Ok(())
}

async fn batch100(user: &mut GooseUser) -> TransactionResult {
    let items: Vec<Value> = (0..100).map(|_| plaintext()).collect();
    post(user, &config().key, "encrypt", &json!({ "items": items })).await?;
    Ok(())
}

async fn sign_ecdsa(user: &mut GooseUser) -> TransactionResult {
    let body = json!({ "input": DIGEST, "prehashed": true });
    post(user, &config().ecdsa_key, "sign", &body).await?;
    Ok(())
}

async fn sign_rsa(user: &mut GooseUser) -> TransactionResult {
    let body = json!({ "input": DIGEST, "prehashed": true });
    post(user, &config().rsa_key, "sign", &body).await?;
    Ok(())
}

async fn seal_once(user: &mut GooseUser) -> TransactionResult {
    let out = post(user, &config().key, "encrypt", &plaintext()).await?;
    let ct = out["ciphertext"].as_str().unwrap_or_default().to_owned();
    user.set_session_data(Sealed(ct));
    Ok(())
}

async fn decrypt(user: &mut GooseUser) -> TransactionResult {
    let ct = user
        .get_session_data::<Sealed>()
        .map(|s| s.0.clone())
        .unwrap_or_default();
    post(user, &config().key, "decrypt", &json!({ "ciphertext": ct })).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), GooseError> {
    if config().token.is_empty() {
        eprintln!("set KMS_TOKEN to a token granted encrypt and decrypt on KMS_KEY");
        std::process::exit(2);
    }
    GooseAttack::initialize()?
        .register_scenario(scenario!("encrypt").register_transaction(transaction!(encrypt)))
        .register_scenario(
            scenario!("decrypt")
                .register_transaction(transaction!(seal_once).set_on_start())
                .register_transaction(transaction!(decrypt)),
        )
        .register_scenario(
            scenario!("mixed")
                .register_transaction(transaction!(seal_once).set_on_start())
                .register_transaction(transaction!(encrypt))
                .register_transaction(transaction!(decrypt)),
        )
        .register_scenario(scenario!("batch100").register_transaction(transaction!(batch100)))
        .register_scenario(scenario!("signecdsa").register_transaction(transaction!(sign_ecdsa)))
        .register_scenario(scenario!("signrsa").register_transaction(transaction!(sign_rsa)))
        .execute()
        .await?;
    Ok(())
}
