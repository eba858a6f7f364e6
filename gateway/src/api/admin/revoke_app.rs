//! `POST /v1/admin/apps/{name}/revoke` → `{"app","revoked_tokens"}`: every live token of the app
//! stops working at once (the next request after the call returns is refused). The app and its
//! grants stay; `POST /v1/admin/apps/{name}/tokens` issues it a new token.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use super::app_admin;
use super::app_view::find_app;
use super::{run, success};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize)]
struct Response {
    app: String,
    revoked_tokens: u64,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let (caller, target) = app_admin(&state, &req, &name, "revoke_app").await?;
    let event = success(&state, &caller, "revoke_app", target.clone());
    let response = run(&state, &caller, "revoke_app", target, |st| async move {
        let app = find_app(&st, &name).await?;
        let (revision, revoked) = st
            .store
            .revoke_app_tokens(app.id, st.clock.now(), &event)
            .await?;
        st.synced(revision).await;
        Ok(Response {
            app: app.name.to_string(),
            revoked_tokens: revoked,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(response))
}
