//! `GET /v1/hsm/status` (administrator) → every token with its health and the master keys it
//! holds, and the master keys the store records (id, KCV, origin, state).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    auth::require_admin(&state, &req, "hsm_status", None).await?;
    let st = state.clone().into_inner();
    let body = state
        .io(async move {
            let hsm = st.hsm.status().await?;
            let recorded = st.store.master_keys().await?;
            Ok(json!({
                "backend": hsm.backend,
                "tokens": hsm.tokens,
                "master_keys": recorded.iter().map(|k| json!({
                    "id": k.id.to_string(),
                    "kcv": k.kcv.to_string(),
                    "origin": k.origin.name(),
                    "state": k.state.name(),
                    "created_at": k.created_at.rfc3339(),
                    "updated_at": k.updated_at.rfc3339(),
                })).collect::<Vec<_>>(),
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}
