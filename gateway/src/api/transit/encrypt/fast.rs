//! The common Transit encrypt, `{"plaintext":"..."}` (perhaps with `associated_data`) under an
//! existing key that is not derived, without the general path's generic parameter map and
//! `serde_json::Value` answer: a typed body, and the envelope written straight into the answer.
//! Measured in loadtest/run.sh (`transit-encrypt` against the native `encrypt`): the generic
//! path cost ~10% of the native path's throughput, more than the AES itself. Anything else falls
//! back to the general path (mod.rs), which answers the same way.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse};
use kms_engine::algorithm::Operation;
use kms_engine::ciphertext::decode_b64;
use kms_engine::pool::{Done, Item};
use kms_engine::secret::PlaintextBuf;
use serde::Deserialize;

use crate::api::transit::envelope::{self, VaultError, missing_is_400};
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

/// The body the fast path takes: exactly these fields, else the general path.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Simple {
    plaintext: String,
    associated_data: Option<String>,
}

/// The answer, or `None` when the general path must answer (another body, a missing key, which
/// an administrator's encrypt creates, or a derived key).
pub async fn single(
    state: &AppState,
    req: &HttpRequest,
    name: &str,
    bytes: &[u8],
) -> Option<Result<HttpResponse, VaultError>> {
    let simple: Simple = serde_json::from_slice(bytes).ok()?;
    // A key the general path must serve goes there before anything is charged to its rate limit
    // (authorizing here and again there would charge the request twice).
    if state.directory.load().key(name).is_some_and(|k| !fast(k)) {
        return None;
    }
    let started = Instant::now();
    let (caller, key) = match auth::authorize_key(state, req, name, Operation::Encrypt).await {
        Ok(found) => found,
        Err(e) if e.code == "key_not_found" => return None,
        Err(e) => {
            crate::metrics::request(Operation::Encrypt, "", e.code, 1, started);
            return Some(Err(missing_is_400(e).into()));
        }
    };
    if !fast(&key) {
        return None;
    }
    let result = encrypt(state, &caller, key, simple).await;
    let outcome = result.as_ref().map_or_else(|e| e.code, |_| "ok");
    crate::metrics::request(Operation::Encrypt, name, outcome, 1, started);
    Some(result.map_err(VaultError))
}

/// Whether the fast path serves this key: a general-purpose key that encrypts, not derived.
fn fast(key: &kms_engine::keyring::KeyEntry) -> bool {
    key.settings.purpose == kms_engine::keyring::Purpose::General
        && !key.settings.derived
        && key.algorithm.supports(Operation::Encrypt)
}

async fn encrypt(
    state: &AppState,
    caller: &auth::Caller,
    key: Arc<kms_engine::keyring::KeyEntry>,
    simple: Simple,
) -> Result<HttpResponse, ApiError> {
    let context = match &simple.associated_data {
        Some(ad) => decode_b64("associated_data", ad)?,
        None => Vec::new(),
    };
    let item = Item::Encrypt {
        plaintext: PlaintextBuf::new(decode_b64("plaintext", &simple.plaintext)?),
        context,
    };
    let done = state
        .pool
        .run_coalesced(key, caller.actor_shared(), vec![item])
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal(&"no result"))??;
    let Done::Ciphertext {
        ciphertext,
        version,
    } = done
    else {
        return Err(ApiError::internal(&"an encrypt answered something else"));
    };
    // `kms:NNNNN:<base64>`: the body after the header is the same bytes in Vault's form.
    let body = ciphertext.get(10..).unwrap_or_default();
    Ok(envelope::ok_written(|out| {
        // Base64 needs no escaping in JSON.
        let _ = write!(
            out,
            "\"ciphertext\":\"vault:v{v}:{body}\",\"key_version\":{v}",
            v = version.get()
        );
    }))
}
