//! Transit calls that pass this KMS's approval rules (`export` of secret material, `backup`,
//! `restore`; docs/vault-compat.md): the root token runs them at once, as it runs every sensitive
//! action (docs/access-control.md); a person (a `key_admin`'s session token in `X-Vault-Token`)
//! runs them only once a quorum of other people approved. A Vault client cannot carry an
//! approval, so the same call is repeated: the first answers `403 approval_required` naming the
//! request it filed, while it waits `403 approval_pending`, and once approved the same call (same
//! path and parameters) runs, once (kms_control::approvals::gate).

use actix_web::http::StatusCode;
use actix_web::web;
use kms_control::approvals::action::Action;
use kms_control::approvals::gate::{Gate, request_or_collect};
use kms_engine::directory::Principal;

use super::envelope::VaultError;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Ok when the call may run now (the root token, or an approved request taken now); otherwise the
/// 403 naming the approval request.
pub async fn pass(
    state: &web::Data<AppState>,
    caller: &Caller,
    action: Action,
    target: String,
) -> Result<(), VaultError> {
    if matches!(caller.principal(), Principal::Root { .. }) {
        return Ok(());
    }
    let invocation = caller.invocation();
    let name = action.name();
    let gate = crate::api::admin::run(
        state,
        caller,
        &name,
        target.clone(),
        move |ctl| async move { request_or_collect(&ctl, &invocation, &action, target).await },
    )
    .await?;
    let quorum = state.control.access.approval_quorum;
    let refusal =
        |code, message: String| Err(ApiError::new(StatusCode::FORBIDDEN, code, message).into());
    match gate {
        Gate::Authorized(_) => Ok(()),
        Gate::Requested(id) => refusal(
            "approval_required",
            format!(
                "`{name}` needs the approval of {quorum} other people: approval request {id} is \
                 filed (GET /v1/admin/approvals/{id}); repeat this call once it is approved"
            ),
        ),
        Gate::Pending(id) => refusal(
            "approval_pending",
            format!(
                "approval request {id} for `{name}` is waiting for approvals \
                 (GET /v1/admin/approvals/{id}); repeat this call once it is approved"
            ),
        ),
    }
}
