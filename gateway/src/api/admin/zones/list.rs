//! `GET /v1/admin/zones` → the registered zones.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::zones::view::ZoneView;
use serde_json::json;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    auth::require_admin(&state, &req, "list_zones", None).await?;
    let store = state.control.store.clone();
    let zones = state.io(async move { Ok(store.zones().await?) }).await?;
    let views: Vec<ZoneView> = zones.iter().map(ZoneView::from).collect();
    Ok(HttpResponse::Ok().json(json!({ "zones": views })))
}
