//! `GET /v1/admin/keys` → `{"keys":[{"name","id","algorithm","active_version"}]}`, by name.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize)]
struct Summary {
    name: String,
    id: String,
    algorithm: &'static str,
    active_version: u32,
}

#[derive(Serialize)]
struct Response {
    keys: Vec<Summary>,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    auth::require_admin(&state, &req, "list_keys", None).await?;
    let st = state.clone().into_inner();
    let mut keys = state
        .io(async move { Ok(st.store.load_keys().await?) })
        .await?;
    keys.sort_by(|a, b| a.name.cmp(&b.name));
    let keys = keys
        .iter()
        .filter(|k| !crate::system_keys::is_reserved(k.name.as_str()))
        .map(|k| Summary {
            name: k.name.to_string(),
            id: k.id.to_string(),
            algorithm: k.algorithm.name(),
            active_version: k.active.get(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Response { keys }))
}
