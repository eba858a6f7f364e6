//! `GET /metrics`: Prometheus text. Unauthenticated, like `/healthz`, for the scraper; it names
//! keys and operations but holds no secret (docs/api.md says to keep it on the internal network).

use actix_web::{HttpResponse, web};

use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let body = crate::metrics::render(&state).ok_or_else(|| {
        ApiError::unavailable(
            "metrics_unavailable",
            "another metrics recorder was installed in this process",
        )
    })?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}
