//! `GET /v1/hsm/rotations` (administrator) → master-key rotation jobs not yet done, with progress.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    auth::require_admin(&state, &req, "hsm_rotations", None).await?;
    let st = state.clone().into_inner();
    let body = state
        .io(async move {
            let mut jobs = Vec::new();
            for job in st.store.unfinished_rotations().await? {
                jobs.push(json!({
                    "id": job.id,
                    "from": job.from.to_string(),
                    "to": job.to.to_string(),
                    "state": job.state.name(),
                    "rewrapped": job.rewrapped,
                    "remaining": st.store.count_wrapped_under(&job.from).await?,
                    "started_at": job.started_at.rfc3339(),
                }));
            }
            Ok(json!({ "rotations": jobs }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}
