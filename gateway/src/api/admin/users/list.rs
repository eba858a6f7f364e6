//! `GET /v1/admin/users` → `{"users":[...]}`; `GET /v1/admin/users/{name}` → one user.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::store::StoreError;

use super::UserView;
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    auth::require_admin(&state, &req, "list_users", None).await?;
    let st = state.clone().into_inner();
    let users = state.io(async move { Ok(st.store.users().await?) }).await?;
    let users: Vec<UserView> = users.iter().map(UserView::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "users": users })))
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    auth::require_admin(&state, &req, "read_user", Some(format!("user:{name}"))).await?;
    let st = state.clone().into_inner();
    let user = state
        .io(async move { Ok(st.store.user(&name).await?) })
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    Ok(HttpResponse::Ok().json(UserView::from(&user)))
}
