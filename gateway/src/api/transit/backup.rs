//! `GET {mount}/backup/:name`, `POST {mount}/restore(/:name)`, the plaintext `export` types and
//! `allow_plaintext_backup`: each would take a key's material out of the KMS (or bring a backup's
//! in), which in this KMS must pass the approval rules (a quorum of other people; DESIGN.md §6).
//! The Transit API cannot carry an approval yet, so they answer one stable refusal,
//! `403 approval_required`, after the caller is authenticated as an administrator (and audited
//! under the endpoint's action). docs/vault-compat.md lists them as not yet served; the native
//! API exports an exportable key's material wrapped to the requester after a quorum approves.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;

use super::envelope::VaultError;
use super::fields::Fields;
use kms_engine::audit::Outcome;

use crate::api::admin::key_admin;
use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::state::AppState;

/// The refusal: what was asked needs an approval the Transit API cannot carry.
pub fn approval_required(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "approval_required",
        format!(
            "{what} must pass this KMS's approval rules, which the Transit API does not carry \
             (docs/vault-compat.md); use the native API's approved export"
        ),
    )
}

/// `allow_plaintext_backup: true` (create, config) is refused; `false` is what it always is.
pub fn refuse_plaintext_backup(body: &mut Fields) -> Result<(), VaultError> {
    match body.bool("allow_plaintext_backup")? {
        Some(true) => Err(approval_required("a plaintext backup of a key").into()),
        _ => Ok(()),
    }
}

/// Records the refusal in the audit log (as `action`, outcome failed, code
/// `approval_required`) and answers it.
pub async fn refuse(
    state: &web::Data<AppState>,
    caller: &Caller,
    action: &str,
    target: String,
    what: &'static str,
) -> Result<HttpResponse, VaultError> {
    let refusal = approval_required(what);
    let mut event = state.event(caller.actor(), action, Some(target), Outcome::Failed);
    event.remote = caller.remote.map(|ip| ip.to_string());
    event.code = Some(refusal.code.to_owned());
    event.detail = Some(refusal.message.clone());
    state.audit.record(event).await;
    Err(refusal.into())
}

pub async fn backup(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, VaultError> {
    let name = req.match_info().query("name");
    let (caller, target) = key_admin(&state, &req, name, "transit_backup_key").await?;
    refuse(
        &state,
        &caller,
        "transit_backup_key",
        target,
        "a key backup",
    )
    .await
}

pub async fn restore(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, VaultError> {
    let name = req.match_info().get("name").unwrap_or_default();
    let target = format!("key:{name}");
    let caller =
        auth::require_admin(&state, &req, "transit_restore_key", Some(target.clone())).await?;
    refuse(
        &state,
        &caller,
        "transit_restore_key",
        target,
        "restoring a key backup",
    )
    .await
}

/// For `export/:type/...` other than `public-key`.
pub fn export_refused(kind: &str) -> Result<(), EngineError> {
    match kind {
        "encryption-key" | "signing-key" | "hmac-key" => Ok(()),
        other => Err(EngineError::InvalidArgument(format!(
            "invalid export type `{other}`"
        ))),
    }
}
