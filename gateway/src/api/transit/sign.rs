//! `POST {mount}/sign/:name[/:hash_algorithm]` `{"input","prehashed"?,"hash_algorithm"?,
//! "signature_algorithm"?,"marshaling_algorithm"?,"salt_length"?,"key_version"?}` or
//! `{"batch_input":[...]}` → `{"signature":"vault:vN:...","key_version":N}`.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::algorithm::{Algorithm, Family, Operation};
use kms_engine::crypto::{HashAlgorithm, SignScheme};
use kms_engine::pool::{Item, Params};

use super::envelope::VaultError;
use super::fields::Fields;
use super::{Items, hash_algorithm, key_version, with_params};
use crate::state::AppState;

/// How a request signs or verifies: the RSA padding, and whether `input` is already a digest.
#[derive(Clone, Copy)]
pub struct Options {
    scheme: Option<SignScheme>,
    /// The digest (`hash_algorithm`, path or body); SHA-256 when not named.
    hash: Option<HashAlgorithm>,
    prehashed: bool,
    /// ECDSA signatures as JWS `r ‖ s` in base64url ([`super::jws`]); ignored for other keys, as
    /// in Vault.
    jws: bool,
}

impl Options {
    /// Reads the request-level parameters (shared by every item of a batch).
    pub fn read(req: &HttpRequest, body: &mut Fields) -> Result<Self, EngineError> {
        let hash = hash_algorithm(req, body, "hash_algorithm")?;
        let scheme = match body.string("signature_algorithm")?.as_deref() {
            None | Some("pss") => SignScheme::Pss,
            Some("pkcs1v15") => SignScheme::Pkcs1v15,
            Some(other) => {
                return Err(EngineError::InvalidArgument(format!(
                    "`signature_algorithm` `{other}` is not supported: pss or pkcs1v15"
                )));
            }
        };
        let jws = match body.string("marshaling_algorithm")?.as_deref() {
            None | Some("asn1") => false,
            Some("jws") => true,
            Some(other) => {
                return Err(EngineError::InvalidArgument(format!(
                    "`marshaling_algorithm` `{other}` is not supported: asn1 or jws"
                )));
            }
        };
        match body.string("salt_length")?.as_deref() {
            None | Some("auto" | "hash" | "32") => {}
            Some(other) => {
                return Err(EngineError::InvalidArgument(format!(
                    "`salt_length` `{other}` is not supported: the salt is the hash's length"
                )));
            }
        }
        Ok(Self {
            scheme: Some(scheme),
            hash,
            prehashed: body.bool("prehashed")?.unwrap_or(false),
            jws,
        })
    }

    /// The scheme for this key: padding is RSA's alone (Vault ignores it for other keys).
    pub fn scheme(self, algorithm: Algorithm) -> Option<SignScheme> {
        self.scheme.filter(|_| algorithm.family() == Family::Rsa)
    }

    pub fn prehashed(self) -> bool {
        self.prehashed
    }

    pub fn hash(self) -> Option<HashAlgorithm> {
        self.hash
    }

    /// The item with the request's digest and the asked `version`.
    pub fn item(self, item: Item, version: Option<kms_engine::ids::KeyVersion>) -> Item {
        with_params(
            item,
            Params {
                version,
                hash: self.hash,
                ..Params::default()
            },
        )
    }

    /// Whether this key's signatures travel in the JWS form.
    pub fn jws(self, algorithm: Algorithm) -> bool {
        self.jws && algorithm.family() == Family::Ecdsa
    }
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, VaultError> {
    let name = req.match_info().query("name").to_owned();
    let mut items = Items::read(&state, payload).await?;
    let options = Options::read(&req, &mut items.body)?;
    // The curve's scalar size, when the signatures travel in the JWS form.
    let mut jws = None;
    let mut results = super::run(
        &state,
        &req,
        &name,
        Operation::Sign,
        &mut items,
        |f, key| {
            jws = options
                .jws(key.algorithm)
                .then(|| super::jws::scalar_len(key.algorithm));
            let version = key_version(f)?;
            f.base64("context")?;
            let item = Item::Sign {
                input: f.base64("input")?,
                prehashed: options.prehashed(),
                scheme: options.scheme(key.algorithm),
            };
            Ok(options.item(item, version))
        },
    )
    .await?;
    if let Some(size) = jws {
        for v in results.iter_mut().flatten() {
            let der = v["signature"].as_str().unwrap_or_default().to_owned();
            v["signature"] = super::jws::to_jws(&der, size)?.into();
        }
    }
    super::respond(items, results)
}
