//! `POST {mount}/restore(/:name)` `{"backup","force"?}` → `204`: a backup of this KMS
//! (kms_control::keys::transit_backup) brought back under its key id and versions, under the
//! backup's name or `:name`. A backup whose tag does not verify is `400 invalid_backup`; a key
//! that exists is `400 key_exists` unless `force` and it is the same key (Vault overwrites any).
//! Only once the call passes the approval rules (gated.rs). A root token or a `key_admin`
//! (`transit_restore_key`).

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::approvals::action::Action;
use kms_control::keys::transit_restore::{self, Params};
use kms_engine::EngineError;

use super::envelope::VaultError;
use super::fields::Fields;
use crate::api::admin::run;
use crate::auth;
use crate::state::AppState;

pub async fn restore(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, VaultError> {
    let action = "transit_restore_key";
    let name = req.match_info().get("name").map(str::to_owned);
    let target = transit_restore::target(name.as_deref());
    let caller = auth::require_admin(&state, &req, action, Some(target.clone())).await?;
    let mut body = Fields::read(&state, payload).await?;
    let backup = body
        .string("backup")?
        .filter(|b| !b.is_empty())
        .ok_or_else(|| EngineError::InvalidArgument("missing `backup` to restore".into()))?;
    let params = Params {
        name,
        backup,
        force: body.bool("force")?.unwrap_or(false),
    };
    let checked = params.clone();
    state
        .on_control(move |ctl| async move { transit_restore::check(&ctl, &checked).await })
        .await?;
    let gated = Action::RestoreKey(params.clone());
    super::gated::pass(&state, &caller, gated, target.clone()).await?;
    let invocation = caller.invocation();
    run(&state, &caller, action, target, move |ctl| async move {
        transit_restore::restore(&ctl, &invocation, &params).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
