//! `POST /v1/auth/logout` → 204: ends the caller's session.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::audit::Outcome;
use kms_engine::directory::Principal;
use kms_engine::token::TokenHash;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let caller = auth::authenticate(&state, &req, "logout", None).await?;
    if !matches!(caller.principal(), Principal::User { .. }) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "not_a_session",
            "only a user's session can be logged out",
        ));
    }
    // Authenticated above, so the request carries the session's token.
    let hash = TokenHash::of(auth::token(&req).unwrap_or_default());
    let mut event = state.event(caller.actor(), "logout", None, Outcome::Success);
    event.remote = caller.remote.map(|ip| ip.to_string());
    let st = state.clone().into_inner();
    state
        .io(async move {
            let revision = st.store.end_session(&hash, &event).await?;
            st.synced(revision).await;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
