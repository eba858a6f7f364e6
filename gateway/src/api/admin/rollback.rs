//! `POST /v1/admin/keys/{name}/rollback` `{"reason"}` → the key's description: the previous
//! version (the highest decrypt-only one at or above `min_decryption_version`) is active again;
//! the current one becomes decrypt-only. For an emergency: a new version turned out bad.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::keys::lifecycle::{reason, rollback};
use serde::Deserialize;

use super::{key_admin, run};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    reason: String,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let (caller, target) = key_admin(&state, &req, &name, "rollback_key").await?;
    let why = reason(body.into_inner().reason)?;
    let invocation = caller.invocation();
    let view = run(&state, &caller, "rollback_key", target, |ctl| async move {
        rollback(&ctl, &invocation, &name, &why).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
