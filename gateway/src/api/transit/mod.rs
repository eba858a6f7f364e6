//! The Vault Transit-compatible API: Vault's paths, parameters, envelope and errors, mapped onto
//! this KMS's keys, grants and crypto workers (docs/vault-compat.md lists what is and is not
//! supported). Ciphertexts, signatures and MACs read `vault:vN:<base64>` here: the same bytes as
//! the native `kms:0000N:<base64>`, so either API opens what the other made.
//!
//! Each file is one endpoint; this module holds what they share: the translation of versioned
//! values, Vault's key types, the run of items through the crypto workers, and Vault's batch
//! answer.

pub mod backup;
pub mod cache_config;
pub mod create_key;
pub mod datakey;
pub mod decrypt;
pub mod delete_key;
pub mod encrypt;
pub mod envelope;
pub mod export_key;
pub mod fields;
pub mod gated;
pub mod hash;
pub mod hmac;
pub mod import;
pub mod jws;
pub mod key_config;
pub mod list_keys;
pub mod lookup_self;
pub mod random;
pub mod read_key;
pub mod restore;
pub mod rewrap;
pub mod rotate;
pub mod sign;
pub mod sys_health;
pub mod trim;
pub mod verify;
pub mod wrapping_key;

use std::sync::Arc;
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::algorithm::{Algorithm, Operation};
use kms_engine::ciphertext::{Kind, encode_b64};
use kms_engine::crypto::HashAlgorithm;
use kms_engine::ids::KeyVersion;
use kms_engine::keyring::KeyEntry;
use kms_engine::pool::{Done, Item, Params};
use serde_json::{Value, json};

use self::envelope::VaultError;
use self::fields::{Batch, Fields};
use crate::api::batch;
use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::state::AppState;

pub const DEFAULT_MOUNT: &str = "/v1/transit";

/// Paths under `/v1/` that the native API (or Vault's token lookup) owns.
const RESERVED: &[&str] = &["keys", "admin", "sys", "hsm", "random", "auth"];

/// Checks a configured mount path: `/v1/` and path segments, no trailing `/` (Vault clients
/// address a mount `m` as `/v1/m`), and not where the native API lives.
pub fn mount_path(mount: &str) -> Result<String, String> {
    let trimmed = mount.trim_end_matches('/');
    let segments = trimmed.strip_prefix("/v1/").map(|rest| rest.split('/'));
    let ok = segments.is_some_and(|mut segments| {
        segments.all(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        })
    });
    let first = trimmed.split('/').nth(2).unwrap_or_default();
    if ok && !RESERVED.contains(&first) {
        Ok(trimmed.to_owned())
    } else {
        Err(format!(
            "transit_mount `{mount}` must be a path like /v1/transit (letters, digits, - _ .), \
             not under /v1/{{{}}}",
            RESERVED.join(",")
        ))
    }
}

/// A handler's key name, from the path.
pub type Name = web::Path<String>;

/// Vault's key type for an algorithm; algorithms Vault does not have keep their own name.
pub fn vault_type(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::Aes256Gcm => "aes256-gcm96",
        Algorithm::Aes128Gcm => "aes128-gcm96",
        Algorithm::HmacSha256 => "hmac",
        other => other.name(),
    }
}

/// Vault's key types (`type` at creation) and the algorithm each one is.
const VAULT_TYPES: &[(&str, Algorithm)] = &[
    ("aes256-gcm96", Algorithm::Aes256Gcm),
    ("aes128-gcm96", Algorithm::Aes128Gcm),
    ("chacha20-poly1305", Algorithm::ChaCha20Poly1305),
    ("ed25519", Algorithm::Ed25519),
    ("ecdsa-p256", Algorithm::EcdsaP256),
    ("ecdsa-p384", Algorithm::EcdsaP384),
    ("ecdsa-p521", Algorithm::EcdsaP521),
    ("rsa-2048", Algorithm::Rsa2048),
    ("rsa-3072", Algorithm::Rsa3072),
    ("rsa-4096", Algorithm::Rsa4096),
    ("hmac", Algorithm::HmacSha256),
];

/// The algorithm for a Vault key type (`type` at creation); an unknown one is refused with the
/// list of known ones.
pub fn algorithm_of(vault: &str) -> Result<Algorithm, EngineError> {
    VAULT_TYPES
        .iter()
        .find(|(name, _)| *name == vault)
        .map(|&(_, algorithm)| algorithm)
        .ok_or_else(|| EngineError::UnsupportedAlgorithm {
            name: vault.to_owned(),
            valid: VAULT_TYPES
                .iter()
                .map(|(name, _)| *name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// `vault:vN:<base64>` → `kms:0000N:<base64>` (the native form passes through unchanged). The
/// version stays bound to the body: the native header is part of the associated data.
pub fn from_vault(kind: Kind, text: &str) -> Result<String, EngineError> {
    if text.starts_with(kms_engine::ciphertext::PREFIX) {
        return Ok(text.to_owned());
    }
    let rest = text
        .strip_prefix("vault:v")
        .ok_or_else(|| kind.malformed("it must start with `vault:v`"))?;
    let (digits, body) = rest
        .split_once(':')
        .ok_or_else(|| kind.malformed("it must be `vault:v<version>:<base64>`"))?;
    let valid = (1..=5).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    let version = digits
        .parse::<u32>()
        .ok()
        .filter(|_| valid)
        .ok_or_else(|| kind.malformed("the version must be 1 to 99999"))?;
    KeyVersion::new(version).map_err(|_| kind.malformed("version 0 does not exist"))?;
    Ok(format!("kms:{version:05}:{body}"))
}

/// `kms:0000N:<base64>` → `vault:vN:<base64>`.
pub fn to_vault(text: &str) -> String {
    let version = text
        .get(4..9)
        .and_then(|d| d.parse::<u32>().ok())
        .unwrap_or(0);
    format!("vault:v{version}:{}", text.get(10..).unwrap_or(""))
}

/// A result in Vault's words.
pub fn render(done: Done) -> Value {
    match done {
        Done::Ciphertext {
            ciphertext,
            version,
        } => json!({ "ciphertext": to_vault(&ciphertext), "key_version": version.get() }),
        Done::Plaintext { plaintext, .. } => json!({ "plaintext": encode_b64(&plaintext) }),
        Done::DataKey {
            ciphertext,
            version,
            plaintext,
        } => {
            let mut v =
                json!({ "ciphertext": to_vault(&ciphertext), "key_version": version.get() });
            if let Some(p) = plaintext {
                v["plaintext"] = encode_b64(&p).into();
            }
            v
        }
        Done::Signature { signature, version } => {
            json!({ "signature": to_vault(&signature), "key_version": version.get() })
        }
        // Vault's hmac answer has no `key_version`: the version is in the value.
        Done::Hmac { hmac, .. } => json!({ "hmac": to_vault(&hmac) }),
        Done::Valid { valid, .. } => json!({ "valid": valid }),
        // Password keys are refused before they reach a worker on this API.
        Done::Protected { protected, version } => {
            json!({ "ciphertext": to_vault(&protected), "key_version": version.get() })
        }
        Done::PasswordMatch { matched, .. } => json!({ "valid": matched }),
    }
}

/// `key_version` on encrypt, rewrap, datakey, sign and hmac: the version to use (`0` or absent:
/// the latest). The worker checks it against the key's latest version and
/// `min_encryption_version`.
pub fn key_version(f: &mut Fields) -> Result<Option<KeyVersion>, EngineError> {
    match f.uint("key_version")? {
        None | Some(0) => Ok(None),
        Some(v) => Ok(Some(KeyVersion::new(u32::try_from(v).unwrap_or(u32::MAX))?)),
    }
}

/// Vault's `associated_data` (AEAD associated data) is this KMS's `context`; Vault's `context`
/// is the derivation context of a `derived` key (ignored, as in Vault, for one that is not).
/// Returns the associated data and the derivation context.
pub fn contexts(f: &mut Fields) -> Result<(Vec<u8>, Option<Vec<u8>>), EngineError> {
    let derivation = f.base64("context")?;
    // Vault reads `nonce` only for convergent keys of its first convergent version, which it no
    // longer makes; the nonce of a convergent key here comes from the derived key.
    f.string("nonce")?;
    let aad = f.base64("associated_data")?;
    Ok((aad, (!derivation.is_empty()).then_some(derivation)))
}

/// `item` with Transit's per-item options, when there are any (the common case has none, and
/// goes to the workers as the native API's items do).
pub fn with_params(item: Item, params: Params) -> Item {
    let none = params.derivation.is_none()
        && params.version.is_none()
        && params.hash.is_none()
        && !params.transit_hmac;
    if none {
        item
    } else {
        Item::With(Box::new((params, item)))
    }
}

/// The hash algorithm from the path (`/:algorithm`) or the body's `field`; `None` when neither
/// names one.
pub fn hash_algorithm(
    req: &HttpRequest,
    body: &mut Fields,
    field: &str,
) -> Result<Option<HashAlgorithm>, EngineError> {
    let from_body = body.string(field)?;
    req.match_info()
        .get("algorithm")
        .map(str::to_owned)
        .or(from_body)
        .map(|name| HashAlgorithm::parse(&name))
        .transpose()
}

/// One request's items, in order: the batch's, or the body's own.
pub struct Items {
    pub batch: Option<Batch>,
    pub body: Fields,
    /// Fields a failed batch item carries besides `error` (Vault's decrypt sends
    /// `"plaintext":""`).
    pub failed_item: Value,
}

impl Items {
    pub async fn read(state: &AppState, payload: web::Payload) -> Result<Self, VaultError> {
        Self::parse(state, &fields::body(state, payload).await?)
    }

    /// The items of a body already read.
    pub fn parse(state: &AppState, bytes: &[u8]) -> Result<Self, VaultError> {
        let mut body = Fields::parse(bytes)?;
        let batch = body.batch(state)?;
        Ok(Self {
            batch,
            body,
            failed_item: json!({}),
        })
    }

    /// Parses each item with `parse` (the body itself when there is no batch).
    pub fn each<T>(
        &mut self,
        mut parse: impl FnMut(&mut Fields) -> Result<T, EngineError>,
    ) -> Vec<Result<T, EngineError>> {
        match &mut self.batch {
            Some(b) => b.items.iter_mut().map(parse).collect(),
            None => vec![parse(&mut self.body)],
        }
    }

    /// How many items: the batch's, or one.
    pub fn count(&self) -> usize {
        self.batch.as_ref().map_or(1, |b| b.items.len())
    }
}

/// Runs a data request: the caller's grant for `op` on the key, the algorithm's support for it,
/// then the items `parse` makes (knowing the key) through the crypto workers. In a batch an item's
/// own error stays in its place; an error that is not the item's fails the request.
pub async fn run(
    state: &AppState,
    req: &HttpRequest,
    name: &str,
    op: Operation,
    items: &mut Items,
    parse: impl FnMut(&mut Fields, &KeyEntry) -> Result<Item, EngineError>,
) -> Result<Vec<Result<Value, EngineError>>, VaultError> {
    let started = Instant::now();
    let count = items.count();
    let single = items.batch.is_none();
    let mut known = false;
    let mut parse = parse;
    let result = async {
        let (caller, key) = auth::authorize_key_n(state, req, name, op, count)
            .await
            .map_err(envelope::missing_is_400)?;
        known = true;
        // Transit MACs with any key: each version has an HMAC key of its own. A password key's
        // private half serves the password endpoints only.
        let general = key.settings.purpose == kms_engine::keyring::Purpose::General;
        if !general || (op != Operation::Hmac && !key.algorithm.supports(op)) {
            return Err(EngineError::OperationNotSupported(op.name()).into());
        }
        let parsed = items.each(|f| parse(f, &key));
        // A derived key needs every item's context: as in Vault, one missing fails the request.
        if key.settings.derived
            && op != Operation::Hmac
            && parsed.iter().flatten().any(|i| !derives(i))
        {
            return Err(EngineError::InvalidArgument(
                "missing `context` for key derivation: the key was created `derived`, so every \
                 item needs its context"
                    .into(),
            )
            .into());
        }
        let who = caller.actor_shared();
        let k = Arc::clone(&key);
        let mut results =
            batch::outcomes(parsed, |work| state.pool.run_coalesced(k, who, work)).await?;
        // A single request's error is the request's (and its metric's outcome).
        let fatal = results
            .iter()
            .position(|r| r.as_ref().is_err_and(|e| single || !e.is_user_error()));
        if let Some(Err(e)) = fatal.map(|i| results.swap_remove(i)) {
            return Err(ApiError::from(e));
        }
        Ok(results.into_iter().map(|r| r.map(render)).collect())
    }
    .await;
    let outcome = result.as_ref().map_or_else(|e| e.code, |_| "ok");
    crate::metrics::request(op, if known { name } else { "" }, outcome, count, started);
    result.map_err(VaultError)
}

/// Whether an item carries a derivation context.
fn derives(item: &Item) -> bool {
    matches!(item, Item::With(inner) if inner.0.derivation.is_some())
}

/// Vault's answer: one item's data (or its error), or `batch_results` in order. A batch in which
/// any item failed is 400, unless some succeeded and `partial_failure_response_code` says
/// otherwise.
pub fn respond(
    items: Items,
    results: Vec<Result<Value, EngineError>>,
) -> Result<HttpResponse, VaultError> {
    let warnings = items.body.warnings();
    let failed_item = items.failed_item;
    let Some(batch) = items.batch else {
        let result = results
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::internal(&"no result"))?;
        return Ok(envelope::ok(result?, warnings));
    };
    let mut failed = false;
    let mut succeeded = false;
    let out: Vec<Value> = results
        .into_iter()
        .zip(batch.references)
        .map(|(result, reference)| {
            let mut v = match result {
                Ok(v) => {
                    succeeded = true;
                    v
                }
                Err(e) => {
                    failed = true;
                    let mut v = failed_item.clone();
                    v["error"] = envelope::line(&ApiError::from(e)).into();
                    v
                }
            };
            // Vault echoes `reference` in every item, `""` when none was sent.
            v["reference"] = reference.unwrap_or_else(|| json!(""));
            v
        })
        .collect();
    let status = match (failed, succeeded, batch.partial_code) {
        (false, _, _) => StatusCode::OK,
        (true, true, Some(code)) => u16::try_from(code)
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
            .filter(|s| s.as_u16() >= 100)
            .unwrap_or(StatusCode::BAD_REQUEST),
        (true, _, _) => StatusCode::BAD_REQUEST,
    };
    Ok(envelope::respond(
        status,
        json!({ "batch_results": out }),
        warnings,
    ))
}

/// A key-management request: the caller, authorised as an administrator under `action` (audit
/// target `key:{name}`), the target, and the body.
pub async fn admin_request(
    state: &AppState,
    req: &HttpRequest,
    name: &str,
    action: &str,
    payload: web::Payload,
) -> Result<(Caller, String, Fields), VaultError> {
    let (caller, target) = crate::api::admin::key_admin(state, req, name, action)
        .await
        .map_err(envelope::missing_is_400)?;
    let body = Fields::read(state, payload).await?;
    Ok((caller, target, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_values_translate_both_ways() {
        let kms = from_vault(Kind::Ciphertext, "vault:v12:QUJD").unwrap();
        assert_eq!(kms, "kms:00012:QUJD");
        assert_eq!(to_vault(&kms), "vault:v12:QUJD");
        assert_eq!(
            from_vault(Kind::Signature, "kms:00001:QUJD").unwrap(),
            "kms:00001:QUJD"
        );
        for bad in [
            "vault:v0:QUJD",
            "vault:v:QUJD",
            "vault:vx:QUJD",
            "vault:v123456:QUJD",
            "vault:v1",
            "v1:QUJD",
        ] {
            assert!(
                matches!(
                    from_vault(Kind::Ciphertext, bad),
                    Err(EngineError::InvalidCiphertext(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            from_vault(Kind::Hmac, "nope"),
            Err(EngineError::InvalidHmac(_))
        ));
    }

    #[test]
    fn vault_key_types_round_trip() {
        for t in [
            "aes256-gcm96",
            "aes128-gcm96",
            "chacha20-poly1305",
            "ed25519",
            "ecdsa-p256",
            "rsa-2048",
            "rsa-3072",
            "rsa-4096",
            "hmac",
            "ecdsa-p384",
            "ecdsa-p521",
        ] {
            assert_eq!(vault_type(algorithm_of(t).unwrap()), t);
        }
        assert!(algorithm_of("aes128-cmac").is_err());
    }

    #[test]
    fn mount_paths_are_checked() {
        assert_eq!(mount_path("/v1/transit/").unwrap(), "/v1/transit");
        assert_eq!(mount_path("/v1/my-transit").unwrap(), "/v1/my-transit");
        for bad in [
            "",
            "/",
            "/v1",
            "/transit",
            "v1/transit",
            "/v1//transit",
            "/v1/tr ansit",
            "/v1/keys",
            "/v1/sys/transit",
        ] {
            assert!(mount_path(bad).is_err(), "{bad}");
        }
    }
}
