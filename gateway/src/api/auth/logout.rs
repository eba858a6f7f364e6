//! `POST /v1/auth/logout` → 204: ends the caller's session.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::people::login::logout;
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
        return Err(ApiError::bad_request(
            "not_a_session",
            "only a user's session can be logged out",
        ));
    }
    // Authenticated above, so the request carries the session's token.
    let hash = TokenHash::of(auth::token(&req).unwrap_or_default());
    let invocation = caller.invocation();
    state
        .on_control(move |ctl| async move { logout(&ctl, &invocation, &hash).await })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
