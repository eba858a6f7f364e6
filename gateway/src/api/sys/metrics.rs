//! `GET /metrics`: Prometheus text, without a token (for the scraper) but only to callers inside
//! `[server] metrics_from` (default: loopback), since it names keys, apps and operations; anyone
//! else gets `403 metrics_forbidden`, audited (`metrics_access.rs`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let remote = auth::remote(&state, &req);
    if !state.metrics_from.allows(remote) {
        let e = ApiError::new(
            StatusCode::FORBIDDEN,
            "metrics_forbidden",
            "metrics are served only to the addresses in [server] metrics_from (default: loopback)",
        );
        return Err(auth::refuse(&state, "anonymous".into(), remote, "metrics", None, e).await);
    }
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
