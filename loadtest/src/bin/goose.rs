//! goose scenarios against a running KMS: `encrypt` and `decrypt` of 64 bytes.
//!
//! Set `KMS_TOKEN` to a token granted `encrypt` and `decrypt` on the key `KMS_KEY` (default
//! `loadtest`), then run e.g.
//! `cargo run --release -p kms-loadtest -- --host http://127.0.0.1:8200 --users 32 --run-time 30s
//!  --scenarios encrypt --report-file report.html`.
//! goose itself tops out near 50k requests/s on two cores; peak figures come from wrk (issue 6).
#![forbid(unsafe_code)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use goose::prelude::*;
use serde_json::{Value, json};

struct Config {
    token: String,
    key: String,
}

fn config() -> Config {
    Config {
        token: std::env::var("KMS_TOKEN").unwrap_or_default(),
        key: std::env::var("KMS_KEY").unwrap_or_else(|_| "loadtest".into()),
    }
}

/// A decrypting user's ciphertext, made once when the user starts.
#[derive(Clone)]
struct Sealed(String);

async fn post(
    user: &mut GooseUser,
    op: &str,
    body: &Value,
) -> Result<Value, Box<TransactionError>> {
    let c = config();
    let path = format!("/v1/keys/{}/{op}", c.key);
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
    post(user, "encrypt", &plaintext()).await?;
    Ok(())
}

async fn seal_once(user: &mut GooseUser) -> TransactionResult {
    let out = post(user, "encrypt", &plaintext()).await?;
    let ct = out["ciphertext"].as_str().unwrap_or_default().to_owned();
    user.set_session_data(Sealed(ct));
    Ok(())
}

async fn decrypt(user: &mut GooseUser) -> TransactionResult {
    let ct = user
        .get_session_data::<Sealed>()
        .map(|s| s.0.clone())
        .unwrap_or_default();
    post(user, "decrypt", &json!({ "ciphertext": ct })).await?;
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
        .execute()
        .await?;
    Ok(())
}
