//! `POST /v1/admin/keys` `{"name","algorithm"?,"deterministic"?,"rotation_period"?,
//! "notice_period"?,"purpose"?,"protection"?}` → the key's description. Symmetric material is generated inside the HSM;
//! a key pair is generated here and wrapped by the HSM before it reaches the store.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::algorithm::Algorithm;
use kms_engine::ids::KeyName;
use kms_engine::keyring::{DEFAULT_NOTICE_MS, KeySettings, Protection, Purpose};
use serde::Deserialize;

use super::key_view::KeyView;
use super::{run, success};
use crate::error::ApiError;
use crate::state::AppState;
use crate::{auth, durations, keyops};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    name: String,
    algorithm: Option<String>,
    /// `aes-256-gcm-siv` only.
    #[serde(default)]
    deterministic: bool,
    /// e.g. `90d`: rotate automatically this long after each rotation.
    rotation_period: Option<String>,
    /// e.g. `7d` (the default): announce a scheduled rotation this long before.
    notice_period: Option<String>,
    /// Whether the material may be exported (after a quorum approves each export).
    #[serde(default)]
    exportable: bool,
    /// `password` makes a password key (docs/passwords.md); absent: a general key.
    purpose: Option<String>,
    /// Password keys: `aead` (the default) or `hash`.
    protection: Option<String>,
}

/// The purpose and the algorithm (an RSA one for a password key, rsa-3072 by default).
fn purpose(body: &Request) -> Result<(Purpose, Algorithm), ApiError> {
    let password = match body.purpose.as_deref() {
        None | Some("general") => false,
        Some("password") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_request",
                "`purpose` is `general` or `password`",
            ));
        }
    };
    let default = if password { "rsa-3072" } else { "aes-256-gcm" };
    let algorithm = Algorithm::parse(body.algorithm.as_deref().unwrap_or(default))?;
    if !password {
        if body.protection.is_some() {
            return Err(ApiError::bad_request(
                "invalid_request",
                "`protection` applies to password keys only",
            ));
        }
        return Ok((Purpose::General, algorithm));
    }
    if algorithm.rsa_bits().is_none() || body.deterministic {
        return Err(ApiError::bad_request(
            "invalid_request",
            "a password key is rsa-2048, rsa-3072 or rsa-4096, and not deterministic",
        ));
    }
    let protection = Protection::parse(body.protection.as_deref().unwrap_or("aead"))?;
    Ok((Purpose::Password(protection), algorithm))
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let target = format!("key:{}", body.name);
    let caller = auth::require_admin(&state, &req, "create_key", Some(target.clone())).await?;
    let body = body.into_inner();
    let name = KeyName::new(&body.name)?;
    crate::system_keys::refuse_reserved(&body.name)?;
    let (purpose, algorithm) = purpose(&body)?;
    if body.deterministic && algorithm != Algorithm::Aes256GcmSiv {
        return Err(ApiError::bad_request(
            "invalid_request",
            "only aes-256-gcm-siv keys may be deterministic",
        ));
    }
    let settings = KeySettings {
        deterministic: body.deterministic,
        rotation_period_ms: body
            .rotation_period
            .as_deref()
            .map(|p| durations::parse("rotation_period", p))
            .transpose()?,
        notice_period_ms: body
            .notice_period
            .as_deref()
            .map(|p| durations::parse("notice_period", p))
            .transpose()?
            .unwrap_or(DEFAULT_NOTICE_MS),
        exportable: body.exportable,
        purpose,
        // Only Transit's config sets it (docs/vault-compat.md).
        deletion_allowed: false,
        // Transit's derived, convergent and imported keys are made through Transit only.
        ..KeySettings::default()
    };
    let mut event = success(&state, &caller, "create_key", target.clone());
    event.detail = Some(format!(
        "algorithm={algorithm} deterministic={} exportable={} purpose={}",
        settings.deterministic,
        settings.exportable,
        purpose.name()
    ));
    let actor = caller.actor();
    let view = run(&state, &caller, "create_key", target, |st| async move {
        let id = keyops::create(&st, name, algorithm, settings, &actor, &event).await?;
        KeyView::load(&st, id).await
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}
