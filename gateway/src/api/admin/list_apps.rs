//! `GET /v1/admin/apps` → `{"apps":[{"id","name","created_at","tokens":[...]}]}`, by name. Tokens
//! are listed by id with their lifetimes; a token itself is never shown again.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use super::app_view::AppView;
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize)]
struct Response {
    apps: Vec<AppView>,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    auth::require_admin(&state, &req, "list_apps", None).await?;
    let st = state.clone().into_inner();
    let apps = state
        .io(async move { Ok(st.store.list_apps(None).await?) })
        .await?;
    let now = state.clock.now();
    let apps = apps.iter().map(|a| AppView::new(a, now)).collect();
    Ok(HttpResponse::Ok().json(Response { apps }))
}
