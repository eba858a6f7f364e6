//! `GET /v1/apps/self` (an app's token or certificate) → the app as administrators see it: its
//! tokens' ids, states and expiry, so that an app sees a rotation's overlap running out and
//! rolls its new token out in time.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::apps::view::show;
use kms_engine::directory::Principal;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let caller = auth::authenticate(&state, &req, "read_app_self", None).await?;
    let Principal::App { name, .. } = caller.principal() else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "not_an_app",
            "only an app's token or certificate reads /v1/apps/self",
        ));
    };
    let name = name.to_string();
    let app = state
        .on_control(move |ctl| async move { show(&ctl, &name).await })
        .await?;
    Ok(HttpResponse::Ok().json(app))
}
