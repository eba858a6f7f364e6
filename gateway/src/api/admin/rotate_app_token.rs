//! `POST /v1/admin/apps/{name}/tokens` `{"overlap_seconds"?}` → a new token for the app, shown
//! once. The app's other live tokens keep working for the overlap (default 24 hours; 0: they stop
//! now), so the app can roll the new one out first. They stop at their expiry by themselves: the
//! data plane's snapshot holds it and compares it per request.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::apps::tokens::{overlap, rotate};
use serde::Deserialize;

use super::{app_admin, run};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    overlap_seconds: Option<u64>,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let (caller, target) = app_admin(&state, &req, &name, "rotate_app_token").await?;
    let overlap = overlap(body.overlap_seconds)?;
    let invocation = caller.invocation();
    let response = run(
        &state,
        &caller,
        "rotate_app_token",
        target,
        |ctl| async move { rotate(&ctl, &invocation, &name, overlap).await },
    )
    .await?;
    Ok(HttpResponse::Created().json(response))
}
