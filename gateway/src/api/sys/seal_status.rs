//! `GET /v1/sys/seal-status` → `{"backend","initialized","sealed","threshold","shares","progress",
//! "master_key_id"}`.

use actix_web::{HttpResponse, web};

use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let st = state.clone().into_inner();
    let status = state
        .io(async move { Ok(st.hsm.seal_status().await?) })
        .await?;
    Ok(HttpResponse::Ok().json(status))
}
