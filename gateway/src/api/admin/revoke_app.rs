//! `POST /v1/admin/apps/{name}/revoke` → `{"app","revoked_tokens"}`: every live token of the app
//! stops working at once (the next request after the call returns is refused). The app and its
//! grants stay; `POST /v1/admin/apps/{name}/tokens` issues it a new token.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::apps::tokens::revoke;

use super::{app_admin, run};
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let (caller, target) = app_admin(&state, &req, &name, "revoke_app").await?;
    let invocation = caller.invocation();
    let response = run(&state, &caller, "revoke_app", target, |ctl| async move {
        revoke(&ctl, &invocation, &name).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(response))
}
