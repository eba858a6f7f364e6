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
        match body.string("marshaling_algorithm")?.as_deref() {
            None | Some("asn1") => {}
            Some(other) => {
                return Err(EngineError::InvalidArgument(format!(
                    "`marshaling_algorithm` `{other}` is not supported: only asn1"
                )));
            }
        }
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
        })
    }

    /// The scheme for this key: padding is RSA's alone (Vault ignores it for other keys).
    pub fn scheme(self, algorithm: Algorithm) -> Option<SignScheme> {
        self.scheme.filter(|_| algorithm.family() == Family::Rsa)
    }

    pub fn prehashed(self) -> bool {
        self.prehashed
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
    let results = super::run(
        &state,
        &req,
        &name,
        Operation::Sign,
        &mut items,
        |f, key| {
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
    super::respond(items, results)
}
