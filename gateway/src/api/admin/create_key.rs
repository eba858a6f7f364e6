//! `POST /v1/admin/keys` `{"name","algorithm"?,"deterministic"?,"rotation_period"?,
//! "notice_period"?}` → the key's description. Symmetric material is generated inside the HSM;
//! a key pair is generated here and wrapped by the HSM before it reaches the store.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::algorithm::Algorithm;
use kms_engine::ids::KeyName;
use kms_engine::keyring::{DEFAULT_NOTICE_MS, KeySettings};
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
    let algorithm = Algorithm::parse(body.algorithm.as_deref().unwrap_or("aes-256-gcm"))?;
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
    };
    let mut event = success(&state, &caller, "create_key", target.clone());
    event.detail = Some(format!(
        "algorithm={algorithm} deterministic={}",
        settings.deterministic
    ));
    let actor = caller.actor();
    let view = run(&state, &caller, "create_key", target, |st| async move {
        let id = keyops::create(&st, name, algorithm, settings, &actor, &event).await?;
        KeyView::load(&st, id).await
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}
