//! `POST /v1/admin/backup` → the backup archive (`application/octet-stream`; docs/backup.md): the
//! whole store, encrypted under a fresh backup key wrapped by the active master key.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::backup::take::take;

use super::run;
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = "store".to_owned();
    let caller = auth::require_admin(&state, &req, "backup", Some(target.clone())).await?;
    let invocation = caller.invocation();
    let archive = run(&state, &caller, "backup", target, |ctl| async move {
        take(&ctl, &invocation).await
    })
    .await?;
    Ok(HttpResponse::build(StatusCode::OK)
        .content_type("application/octet-stream")
        .body(archive))
}
