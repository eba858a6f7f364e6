//! `POST /v1/admin/users/{name}/disable` (ends their sessions) and `.../enable` (also clears a
//! lock) → the user.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::people::status::set_disabled;

use super::super::run;
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

async fn set(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    disabled: bool,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let action = if disabled {
        "disable_user"
    } else {
        "enable_user"
    };
    let target = format!("user:{name}");
    let caller = auth::require_admin(&state, &req, action, Some(target.clone())).await?;
    let invocation = caller.invocation();
    let view = run(&state, &caller, action, target, |ctl| async move {
        set_disabled(&ctl, &invocation, &name, disabled).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

pub async fn disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set(state, req, name, true).await
}

pub async fn enable(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set(state, req, name, false).await
}
