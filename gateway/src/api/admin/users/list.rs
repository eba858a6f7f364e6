//! `GET /v1/admin/users` → `{"users":[...]}`; `GET /v1/admin/users/{name}` → one user.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::people::accounts;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    auth::require_admin(&state, &req, "list_users", None).await?;
    let users = state
        .on_control(|ctl| async move { accounts::list(&ctl).await })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "users": users })))
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    auth::require_admin(&state, &req, "read_user", Some(format!("user:{name}"))).await?;
    let user = state
        .on_control(|ctl| async move { accounts::show(&ctl, &name).await })
        .await?;
    Ok(HttpResponse::Ok().json(user))
}
