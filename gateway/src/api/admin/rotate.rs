//! `POST /v1/admin/keys/{name}/rotate` `{"reason"}` → the key's description with its new active
//! version. The new version is generated (inside the HSM, or as a key pair wrapped by it),
//! committed in one transaction (the old active version becomes decrypt-only), and served by the
//! data plane before the call returns.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::keys::lifecycle::{reason, rotate};
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
    let (caller, target) = key_admin(&state, &req, &name, "rotate_key").await?;
    let why = reason(body.into_inner().reason)?;
    let invocation = caller.invocation();
    let view = run(&state, &caller, "rotate_key", target, |ctl| async move {
        rotate(&ctl, &invocation, &name, &why).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
