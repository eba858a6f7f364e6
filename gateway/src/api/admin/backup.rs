//! `POST /v1/admin/backup` → the backup archive (`application/octet-stream`; docs/backup.md): the
//! whole store, encrypted under a fresh backup key wrapped by the active master key.
//!
//! The root token takes one at once. A user's request waits for approval (`202`); once
//! approved, the requester takes exactly one with `{"approval": id}`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::approvals::action::Action;
use kms_control::approvals::request::collect;
use kms_control::backup::take::{AuthorizeParams, is_authorization, take};
use kms_control::error::ControlError;
use kms_engine::directory::Principal;
use serde::Deserialize;

use super::approve_or_run::approve_or_run;
use super::run;
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The approved request that authorises this backup.
    approval: Option<i64>,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Option<web::Json<Request>>,
) -> Result<HttpResponse, ApiError> {
    let target = "store".to_owned();
    let caller = auth::require_admin(&state, &req, "backup", Some(target.clone())).await?;
    let approval = body.and_then(|b| b.into_inner().approval);
    let root = matches!(caller.principal(), Principal::Root { .. });
    if !root && approval.is_none() {
        let action = Action::AuthorizeBackup(AuthorizeParams::default());
        return approve_or_run(&state, &caller, action, target, StatusCode::OK).await;
    }
    let invocation = caller.invocation();
    let archive = run(&state, &caller, "backup", target, move |ctl| async move {
        if let Some(id) = approval {
            let authorised = collect(&ctl, &invocation, id).await?;
            if !is_authorization(&authorised) {
                return Err(ControlError::invalid(
                    "not_a_backup_approval",
                    format!("approval request {id} does not authorise a backup"),
                ));
            }
        }
        take(&ctl, &invocation).await
    })
    .await?;
    Ok(HttpResponse::build(StatusCode::OK)
        .content_type("application/octet-stream")
        .body(archive))
}
