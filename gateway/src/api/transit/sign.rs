//! `POST {mount}/sign/:name[/:hash_algorithm]` `{"input","prehashed"?,"hash_algorithm"?,
//! "signature_algorithm"?,"marshaling_algorithm"?,"salt_length"?,"key_version"?}` or
//! `{"batch_input":[...]}` → `{"signature":"vault:vN:...","key_version":N}`.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::algorithm::{Algorithm, Family, Operation};
use kms_engine::crypto::SignScheme;
use kms_engine::pool::Item;

use super::envelope::VaultError;
use super::fields::Fields;
use super::hmac::sha2_256;
use super::{Items, check_key_version};
use crate::state::AppState;

/// How a request signs or verifies: the RSA padding, and whether `input` is already a digest.
#[derive(Clone, Copy)]
pub struct Options {
    scheme: Option<SignScheme>,
    prehashed: bool,
    /// ECDSA signatures as JWS `r ‖ s` in base64url ([`super::jws`]); ignored for other keys, as
    /// in Vault.
    jws: bool,
}

impl Options {
    /// Reads the request-level parameters (shared by every item of a batch).
    pub fn read(req: &HttpRequest, body: &mut Fields) -> Result<Self, EngineError> {
        sha2_256(req, body, "hash_algorithm")?;
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

    /// Whether this key's signatures travel in the JWS form.
    pub fn jws(self, algorithm: Algorithm) -> bool {
        self.jws && algorithm.family() == Family::EcdsaP256
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
    let mut jws = false;
    let mut results = super::run(
        &state,
        &req,
        &name,
        Operation::Sign,
        &mut items,
        |f, key| {
            jws = options.jws(key.algorithm);
            check_key_version(f, key)?;
            f.base64("context")?;
            Ok(Item::Sign {
                input: f.base64("input")?,
                prehashed: options.prehashed(),
                scheme: options.scheme(key.algorithm),
            })
        },
    )
    .await?;
    if jws {
        for v in results.iter_mut().flatten() {
            let der = v["signature"].as_str().unwrap_or_default().to_owned();
            v["signature"] = super::jws::to_jws(&der)?.into();
        }
    }
    super::respond(items, results)
}
